import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clock } from '../clock.ts';

/** Why a task's signal was aborted; integrations read `signal.reason` to decide on clean-up. */
export type AbortCause =
  /** A heartbeat answered TaskTimedOut / TaskDoesNotExist / InvalidToken: nobody wants the result. */
  | { kind: 'abandoned'; sfnError: string }
  /** The host is stopping (SIGTERM, Lambda time running out) and the task could not finish. */
  | { kind: 'shutdown' }
  /**
   * Another worker carries the task on: its wait was parked in the hand-off queue, or the lease
   * on it moved to another carrier. Stop without clean-up and without an answer.
   */
  | { kind: 'handed-off' };

export class TaskAbortedError extends Error {
  readonly abortCause: AbortCause;
  constructor(abortCause: AbortCause) {
    super(
      abortCause.kind === 'abandoned'
        ? `task abandoned (${abortCause.sfnError})`
        : abortCause.kind === 'handed-off'
          ? 'task carried on by another worker'
          : 'worker shutting down',
    );
    this.name = 'TaskAbortedError';
    this.abortCause = abortCause;
  }
}

/** What the worker gives an integration for one task. */
export interface TaskContext {
  /** Aborted (with a TaskAbortedError as reason) when the task must stop. Pass it to every I/O call. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * The worker's clock: every wait of the integration (a Job, a control-plane status, a shared
   * watch's re-list) sleeps on it, so a test's virtual clock reaches them. Absent: the system's.
   */
  readonly clock?: Clock;
  /** The activity the task came from, e.g. `prod-eks-runJob-sync`. */
  readonly activityName: string;
  /**
   * Whether to undo what the task started (delete the Job, ...) when it is abandoned (signal
   * reason `{ kind: 'abandoned' }`). Set by the worker from `EKS_WORKER_CLEANUP_ON_ABANDON`;
   * absent means false. The worker waits a bounded time for that clean-up before moving on.
   */
  readonly cleanupOnAbandon?: boolean;
  /**
   * Whether a task stopped by the host's shutdown is handed off (a hand-off queue is configured)
   * rather than failed as `EKS.WorkerInterrupted`. With clean-up on, an integration deletes what
   * the task created only when nobody carries it on (contract §6). Absent means false.
   */
  readonly handsOffOnShutdown?: boolean;
  /** A short, non-secret id of the task (a hash of its token), for logs and resource labels. */
  readonly taskId?: string;
  /**
   * The workerName the task's poll sent (shown in the execution history's ActivityStarted) and
   * its poll id; created resources carry them so they lead back to the execution and the logs.
   */
  readonly poll?: { readonly workerName: string; readonly pollId: string };
  /**
   * Records the little state needed to resume the task elsewhere (e.g. the created Job's
   * namespace, name and uid) once something irreversible has happened. With a hand-off queue the
   * worker parks the task there at once (its wait becomes durable: any worker can carry it on with
   * {@link Integration.resume}, without re-creating anything) and then aborts this run with
   * `{ kind: 'handed-off' }`; without one it keeps the checkpoint for a hand-off at shutdown.
   * Must be JSON-serialisable and small (it travels in an SQS message of at most 256 KiB together
   * with the task input). Absent in contexts that cannot hand off.
   */
  readonly checkpoint?: (state: Checkpoint) => void;
}

/** What an integration records to resume a task elsewhere: a small JSON object. */
export type Checkpoint = Readonly<Record<string, unknown>>;

/**
 * One integration (`eks:call`, `eks:runJob.sync`, ...). `run` returns the task output (any JSON
 * value) or throws; the worker alone turns either into SendTaskSuccess / SendTaskFailure.
 */
export interface Integration {
  /** The suffix of the activity name that selects it, e.g. `eks-runJob-sync`. */
  readonly activitySuffix: string;
  run(input: unknown, context: TaskContext): Promise<unknown>;
  /**
   * Continues a task another worker (invocation) started and handed off after `checkpoint` was
   * recorded: the same wait, output and failure code path as `run`, without re-creating anything.
   * Integrations without it are re-run from the start when handed off without a checkpoint; a
   * task with a checkpoint but no `resume` cannot be continued (it fails as interrupted).
   */
  resume?(input: unknown, checkpoint: Checkpoint, context: TaskContext): Promise<unknown>;
  /**
   * What a state machine can do about an output over Step Functions' limit (ask for less, and
   * how): ends the message of that `EKS.OutputTooLarge`.
   */
  readonly outputTooLargeAdvice?: string;
}
