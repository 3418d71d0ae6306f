/**
 * The shape of the validated configuration (see `lib/config.ts` for how it is read and checked).
 * Apart from the variable table so that both the table and the loader can name it.
 */
import type { WorkerPolicy } from '../policy/document.ts';

/** Log levels understood by the Powertools logger. */
export const LogLevels = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevelName = (typeof LogLevels)[number];

/** The validated configuration. */
export interface WorkerConfig {
  /** Activities to serve; each name must end with an integration's suffix. */
  readonly activityArns: readonly string[];
  /** Shown in the execution history for every task this worker takes (at most 80 characters). */
  readonly workerName: string;
  /** Tasks running at once across all activities (a poll in flight holds a slot too). */
  readonly maxConcurrentTasks: number;
  /** The most long polls one activity may have in flight; each keeps one, more during bursts. */
  readonly pollersPerActivity: number;
  /** Time between heartbeats of a running task; keep well below the states' HeartbeatSeconds. */
  readonly heartbeatIntervalMs: number;
  /** How long a stopping process lets running tasks finish before interrupting them. */
  readonly shutdownGraceMs: number;
  /** Undo started work (delete the Job, ...) when Step Functions abandons a task. */
  readonly cleanupOnAbandon: boolean;
  /** API server endpoints trusted in addition to the one EKS reports for a cluster. */
  readonly trustedEndpoints: readonly string[];
  /** Age after which a Kubernetes bearer token is re-signed (tokens are valid 15 minutes). */
  readonly tokenRefreshMs: number;
  readonly logLevel: LogLevelName;
  /** The AWS Region of the activities and clusters; it is also signed into Kubernetes tokens. */
  readonly region: string;
  /** While a Job is watched, also GET it this often, in case a watch is silently stuck. */
  readonly jobPollIntervalMs: number;
  /** How often `.sync` control-plane integrations describe the cluster, node group or profile. */
  readonly controlPlanePollIntervalMs: number;
  /**
   * The SQS queue that keeps `.sync` waits durable (Lambda: always set; process: optional). With
   * it, a wait is parked there once its Job (or cluster operation) exists and carried on by any
   * worker holding a lease on it, so a rollout, a kill or the end of an invocation fails nothing.
   */
  readonly handOffQueueUrl: string | undefined;
  /**
   * Process host: the port of the health and metrics listener (`/healthz`, `/readyz`, `/metrics`);
   * undefined keeps it off. 0 picks a free port (logged).
   */
  readonly httpPort: number | undefined;
  /**
   * The EKS cluster the worker runs in: its tasks authenticate with the pod's ServiceAccount
   * token (re-read as the kubelet rotates it) instead of an EKS token. Undefined: none.
   */
  readonly inClusterName: string | undefined;
  /** The API server as seen from inside the cluster (the `kubernetes` Service). */
  readonly inClusterEndpoint: string;
  /** Where the pod's ServiceAccount `token` and `ca.crt` are mounted. */
  readonly inClusterCredentialsDir: string;
  /** Lambda: the longest a GetActivityTask may take (60 s hold plus network margin). */
  readonly longPollBudgetMs: number;
  /** Lambda: time a task received by the last poll still gets to finish before a hand-off. */
  readonly taskFinishBudgetMs: number;
  /** Lambda: the end of every invocation, kept for interrupting, handing off and flushing metrics. */
  readonly handOffReserveMs: number;
  /**
   * Lambda: how long one invocation starts polls; undefined = as long as the budgets allow. Set it
   * above the schedule interval so the next invocation polls before this one stops.
   */
  readonly pollWindowMs: number | undefined;
  /**
   * Seconds a carried wait's lease (the hand-off message's visibility timeout) lasts without
   * renewal: how long a task whose carrier died waits before another carrier takes it over.
   */
  readonly leaseSeconds: number;
  /** With a hand-off queue: the most `.sync` waits this worker carries at once (0: none). */
  readonly maxCarriedTasks: number;
  /** The deployment stage (`prod`, `dev`), a dimension of every metric; absent: no such dimension. */
  readonly stage: string | undefined;
  /** The policy file (YAML or JSON) `policy` was read from, if any. */
  readonly policyFile: string | undefined;
  /**
   * What each activity's tasks may do (README "Security model"): from `EKS_WORKER_POLICY_FILE`,
   * `EKS_WORKER_POLICY`, or `defaultPolicy` (runJob only).
   */
  readonly policy: WorkerPolicy;
}
