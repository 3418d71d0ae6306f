/**
 * The narrow port the runJob integrations need from Kubernetes. The real adapter
 * (`kube-job-api.ts`) maps it onto `lib/kube/client.ts`; unit tests use an in-memory fake.
 *
 * Errors: every method rejects with `TaskFailedError` named `EKS.<status>` for a non-2xx answer
 * (so `EKS.404` means not found and `EKS.410` means a resourceVersion too old) or
 * `EKS.ConnectionFailed`; an aborted signal rejects with the signal's reason.
 */
import type { Readable } from 'node:stream';

/** Object metadata, only the fields this integration reads. */
export interface KubeObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: unknown;
  deletionTimestamp?: string;
  [key: string]: unknown;
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  [key: string]: unknown;
}

/** A `batch/v1` Job as JSON; unknown fields pass through untouched. */
export interface KubeJob {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
  spec?: {
    selector?: { matchLabels?: Record<string, string>; [key: string]: unknown };
    [key: string]: unknown;
  };
  status?: { conditions?: JobCondition[]; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; reason?: string; message?: string; signal?: number };
}

export interface ContainerStatus {
  name: string;
  state?: ContainerState;
  lastState?: ContainerState;
  restartCount?: number;
  [key: string]: unknown;
}

/** A `v1` Pod as JSON, only the fields this integration reads. */
export interface KubePod {
  metadata?: KubeObjectMeta;
  spec?: {
    containers?: { name: string; [key: string]: unknown }[];
    initContainers?: { name: string; [key: string]: unknown }[];
    [key: string]: unknown;
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A Kubernetes `Status` object, as carried by an `ERROR` watch event. */
export interface KubeStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  [key: string]: unknown;
}

/** One event of a watch stream (newline-delimited JSON on the wire). */
export type JobWatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeJob }
  /** Only `metadata.resourceVersion` is meaningful: where to resume from. */
  | { type: 'BOOKMARK'; object: KubeJob }
  | { type: 'ERROR'; object: KubeStatus };

export type PodWatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: KubePod }
  | { type: 'ERROR'; object: KubeStatus };

/** Pod log API query parameters (`GET /api/v1/namespaces/{ns}/pods/{pod}/log`). */
export interface LogReadOptions {
  tailLines?: number;
  limitBytes?: number;
  /** Further parameters given by the state machine (`LogOptions.LogParameters`), passed as-is. */
  extra?: Readonly<Record<string, readonly string[]>>;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface JobApi {
  createJob(namespace: string, job: KubeJob, signal: AbortSignal): Promise<KubeJob>;
  getJob(namespace: string, name: string, signal: AbortSignal): Promise<KubeJob>;
  /**
   * When set, `watchJob` is backed by a watch that re-lists its namespace this often (one request
   * for every Job waited on there) and delivers what the watch missed, so a silently stuck watch
   * cannot leave a caller waiting: callers need no polling of their own. A Job the re-list no
   * longer finds is delivered as `DELETED` with an object that has only a name (no uid).
   */
  readonly watchResyncIntervalMs?: number;
  /**
   * Watches one Job (`fieldSelector=metadata.name=<name>`) from `fromResourceVersion`, calling
   * `onEvent` for each event. Resolves when the server ends the stream; rejects on a non-2xx
   * answer or a broken connection. Aborting `signal` ends it promptly.
   */
  watchJob(
    namespace: string,
    name: string,
    fromResourceVersion: string,
    onEvent: (event: JobWatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Watches the pods matching a label selector from `fromResourceVersion`, like `watchJob`.
   * Used to remember why pods failed before the Job controller deletes them (a deadline).
   */
  watchPods(
    namespace: string,
    labelSelector: string,
    fromResourceVersion: string,
    onEvent: (event: PodWatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** Pods matching a label selector (`a=b,c=d`). */
  listPods(namespace: string, labelSelector: string, signal: AbortSignal): Promise<KubePod[]>;
  deleteJob(
    namespace: string,
    name: string,
    propagationPolicy: PropagationPolicy,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Opens one container's log as a byte stream. The caller reads it through a bounded reader and
   * destroys it when it has enough; the adapter must not buffer the whole log.
   */
  readLog(
    namespace: string,
    pod: string,
    container: string,
    options: LogReadOptions,
    signal: AbortSignal,
  ): Promise<Readable>;
}
