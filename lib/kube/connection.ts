/**
 * From a task's {@link ClusterTarget} (already parsed: an origin, a PEM) to a {@link KubeClient}:
 * looks up what the task omitted, and decides whether the endpoint may receive the worker's token.
 *
 * Why the trust check: the token proves the worker's IAM role to whoever receives it (it is a
 * presigned STS call, replayable for 15 minutes), so a task input must not be able to send it
 * to an arbitrary URL. Only an endpoint EKS itself reports for the named cluster, or one an
 * operator allow-listed (a proxy, a private DNS name), ever sees it.
 */
import { ClusterNotFoundError, type EksClusterLookup } from '../aws/eks-cluster-lookup.ts';
import { ErrorName, TaskFailedError } from '../errors.ts';
import { type KubeClient, type KubeClientOptions, makeKubeClient } from './client.ts';
import { type ClusterTarget, type ResolvedCluster, toEndpointOrigin } from './cluster-target.ts';
import type { EksTokenProvider } from './eks-token.ts';

/** What integrations depend on: one per worker, so all tasks share tokens and connections. */
export interface KubeConnector {
  /**
   * A client for the target. Throws `EKS.EndpointNotTrusted` (nothing sent) or the look-up's
   * `EKS.<Exception>`.
   */
  connect(target: ClusterTarget, signal: AbortSignal): Promise<KubeClient>;
  /** Closes the connections of every client made. */
  close(): void;
}

export interface KubeConnectorOptions {
  tokens: EksTokenProvider;
  lookup: EksClusterLookup;
  /** Endpoints trusted whatever EKS reports (exact origins, e.g. `https://kube.internal:8443`). */
  allowedEndpoints?: readonly string[];
  /** Passed to every client (retries, limits, timeouts). */
  clientOptions?: Pick<KubeClientOptions, 'retry' | 'maxResponseBytes' | 'connectTimeoutMs'>;
}

/** Most workers serve a few clusters; beyond this the oldest client is closed. */
const maxClients = 32;

/** Makes the connector (the worker wiring builds one and shares it between integrations). */
export function makeKubeConnector(options: KubeConnectorOptions): KubeConnector {
  const allowed = new Set(
    (options.allowedEndpoints ?? []).map((endpoint) => {
      const parsed = toEndpointOrigin(endpoint);
      if ('problem' in parsed) throw new Error(`allowed endpoint ${endpoint} ${parsed.problem}`);
      return parsed.origin;
    }),
  );
  const clients = new Map<string, KubeClient>();

  const refuse = (target: ClusterTarget, endpoint: string, reason: string, reported?: string) =>
    new TaskFailedError(
      ErrorName.EndpointNotTrusted,
      `Endpoint ${endpoint} is not trusted for cluster ${target.clusterName}: ${reason}`,
      {
        failureCause: {
          Message: `${reason}. The token was not sent. Use the endpoint EKS reports for the cluster, omit Endpoint to look it up, or add it to the worker's allowed endpoints.`,
          ClusterName: target.clusterName,
          Endpoint: endpoint,
          ...(reported ? { ReportedEndpoint: reported } : {}),
        },
      },
    );

  return {
    async connect(target, signal) {
      let { endpoint, caPem } = target;
      if (endpoint === undefined || caPem === undefined || !allowed.has(endpoint)) {
        let reported: ResolvedCluster;
        try {
          reported = await options.lookup.describeCluster(target.clusterName, { signal });
          // A cached answer may predate a recreated cluster: ask EKS again before refusing.
          if (endpoint !== undefined && !allowed.has(endpoint) && reported.endpoint !== endpoint) {
            reported = await options.lookup.describeCluster(target.clusterName, {
              signal,
              refresh: true,
            });
          }
        } catch (error) {
          if (
            error instanceof ClusterNotFoundError &&
            endpoint !== undefined &&
            !allowed.has(endpoint)
          ) {
            throw refuse(target, endpoint, 'EKS has no cluster of that name');
          }
          throw error;
        }
        if (endpoint !== undefined && !allowed.has(endpoint) && reported.endpoint !== endpoint) {
          throw refuse(
            target,
            endpoint,
            'it is not the endpoint EKS reports for the cluster',
            reported.endpoint,
          );
        }
        endpoint ??= reported.endpoint;
        caPem ??= reported.caPem;
      }

      const key = JSON.stringify([target.clusterName, endpoint, caPem]);
      const existing = clients.get(key);
      if (existing) {
        // Refresh its place in the insertion order (least recently used goes first).
        clients.delete(key);
        clients.set(key, existing);
        return existing;
      }
      const client = makeKubeClient({
        ...options.clientOptions,
        clusterName: target.clusterName,
        endpoint,
        caPem,
        tokens: options.tokens,
      });
      if (clients.size >= maxClients) {
        const [oldestKey, oldest] = clients.entries().next().value ?? [];
        if (oldestKey !== undefined) clients.delete(oldestKey);
        oldest?.close();
      }
      clients.set(key, client);
      return client;
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
