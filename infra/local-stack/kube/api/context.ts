/**
 * What every request handler of the local API server works with: the server's parts (store,
 * auth, faults, counters, log source) and its settings. Built once by startKubeApiServer and passed
 * down explicitly, so a handler's inputs are its parameters rather than a shared closure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeAuth } from '../auth.ts';
import type { FaultInjector, RequestCounters } from '../faults.ts';
import type { PodLogSource } from '../log-source.ts';
import type { ResourceType } from '../resource-types.ts';
import type { ObjectStore } from '../store.ts';
import type { ResourcePath } from './resource-path.ts';

export interface ApiContext {
  store: ObjectStore;
  faults: FaultInjector;
  auth: KubeAuth;
  requests: RequestCounters;
  /** Produces pod logs; without it, the log endpoint answers 404. */
  logSource: PodLogSource | undefined;
  bookmarkIntervalMs: number;
  defaultWatchTimeoutSeconds: number;
  /** Ends every open watch stream; the server's close() calls them all. */
  openWatches: Set<() => void>;
  /** `127.0.0.1:<port>` once listening: discovery advertises it (serverAddressByClientCIDRs). */
  serverAddress: string;
}

/** A request on a resource path (`/api/v1/...`, `/apis/<g>/<v>/...`). */
export interface ResourcePathRequest {
  req: IncomingMessage;
  res: ServerResponse;
  path: ResourcePath;
  params: URLSearchParams;
}

/** A request on a resource whose type has been resolved and whose access has been authorized. */
export interface ResourceRequest extends ResourcePathRequest {
  type: ResourceType;
  /** The path's namespace for a namespaced type; undefined for a cluster-scoped one. */
  namespace: string | undefined;
  /** A HEAD request: answered like GET, without a body. */
  head: boolean;
}
