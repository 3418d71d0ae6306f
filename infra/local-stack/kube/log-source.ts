/**
 * The seam between the API server's HTTP layer and whoever produces container logs (the
 * simulated kubelet). The HTTP layer parses and validates the query of
 * `GET /api/v1/namespaces/{ns}/pods/{name}/log`, then pipes the stream this returns to the client
 * with backpressure, destroying it when the client goes away.
 */
import type { Readable } from 'node:stream';

/** The pod log query parameters, parsed (integers are integers). */
export interface PodLogQuery {
  container?: string;
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
  timestamps?: boolean;
  previous?: boolean;
  follow?: boolean;
}

export interface PodLogSource {
  /**
   * Opens a pod's log.
   * @throws KubeApiError 404 for an unknown pod or container, 400 for a multi-container pod with no
   *   container named (message as the API server's:
   *   `a container name must be specified for pod x, choose one of: [a b]`)
   */
  open(namespace: string, pod: string, query: PodLogQuery): Promise<Readable>;
}
