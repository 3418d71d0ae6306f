/**
 * The narrow port the runJob integrations need from Kubernetes. The real adapter
 * (`kube-job-api.ts`) maps it onto `lib/kube/client.ts`; unit tests use an in-memory fake.
 *
 * Errors: every method rejects with `KubeStatusError` (`EKS.<status>`, the status in `statusCode`)
 * for a non-2xx answer or `EKS.ConnectionFailed`; an aborted signal rejects with its reason.
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

/**
 * One change of a watched object, as a subscription delivers it. The shared watch behind it
 * consumes bookmarks and `ERROR` events itself (resuming, starting afresh after 410 Expired), so a
 * subscriber only ever sees objects.
 */
export interface ObjectEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
}

export type JobEvent = ObjectEvent<KubeJob>;
export type PodEvent = ObjectEvent<KubePod>;

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
   * Subscribes to one Job's events on the watch its namespace shares with every other task: the
   * latest state already seen of that Job first, then every change. The shared watch resumes,
   * re-opens, starts afresh after 410, and re-lists the namespace at an interval so a silently
   * stuck stream cannot leave anyone waiting; a Job the re-list no longer finds is delivered as
   * `DELETED` with an object that has only a name (no uid).
   *
   * Never resolves: rejects with the signal's reason when aborted, or with the API's error when the
   * watch is refused for good (401, 403, 404); the caller then has only polling left.
   */
  subscribeToJob(
    namespace: string,
    name: string,
    onEvent: (event: JobEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Subscribes to the events of the pods matching a label selector (`a=b,c=d`), like
   * `subscribeToJob` (without the re-list). Used to remember why pods failed before the Job
   * controller deletes them (a deadline).
   */
  subscribeToPods(
    namespace: string,
    labelSelector: string,
    onEvent: (event: PodEvent) => void,
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
