/**
 * The narrow interfaces the worker depends on. `lib/aws/sfn-activity-client.ts` implements
 * {@link ActivityApi} over the AWS SDK, `lib/aws/sqs-hand-off-queue.ts` {@link HandOffQueue} (and
 * with `hand-off-message.ts`, {@link HandOff}) over SQS; tests implement them in memory. Nothing in
 * `lib/worker/` imports an SDK client, which is what lets the same loop run in Lambda, in a process
 * and in tests.
 */

import type { Checkpoint } from '../integrations/types.ts';
import type { TaskOutcome } from './outcome.ts';
import type { PollWorkerName } from './poll-worker-name.ts';

/** What GetActivityTask returned: both fields absent when the long poll ended without a task. */
export interface PolledTask {
  taskToken?: string;
  input?: string;
  /** The name the poll gave itself (added by the worker, not by Step Functions). */
  poll?: PollWorkerName;
}

/**
 * The Step Functions activity API, as the worker uses it.
 *
 * Errors: a service error is thrown with `name` set to the Step Functions error code
 * (`TaskTimedOut`, `ThrottlingException`, `ActivityDoesNotExist`, ...) and, where known,
 * `$metadata.httpStatusCode`, as the AWS SDK does; a network error carries a Node `code`
 * (`ECONNRESET`, ...). {@link classifySfnError} reads exactly these.
 */
export interface ActivityApi {
  /**
   * Long-polls (up to 60 s) for a task. Deliberately takes no AbortSignal: a token is handed out
   * exactly once, so a poll aborted on our side after Step Functions answered loses the task until
   * its timeout. A poll is always left to return, and a task it returns is always answered or
   * handed off.
   */
  getActivityTask(request: { activityArn: string; workerName: string }): Promise<PolledTask>;
  sendTaskSuccess(
    request: { taskToken: string; output: string },
    signal?: AbortSignal,
  ): Promise<void>;
  sendTaskFailure(
    request: { taskToken: string; error: string; cause: string },
    signal?: AbortSignal,
  ): Promise<void>;
  sendTaskHeartbeat(request: { taskToken: string }, signal?: AbortSignal): Promise<void>;
}

// Time is a port of the integrations too (their waits); it lives in lib/clock.ts.
export { type Clock, systemClock } from '../clock.ts';

/** A task received from an activity, as a hand-off target needs it to finish the work elsewhere. */
export interface ReceivedTask {
  readonly activityArn: string;
  readonly activityName: string;
  readonly taskToken: string;
  /** The raw input string exactly as GetActivityTask returned it. */
  readonly input: string;
  /** The workerName (and its poll id) the poll that returned the task sent; in the history. */
  readonly poll?: PollWorkerName;
}

/**
 * How far a task has come across workers: what travels with it when it is handed off, and what a
 * resuming worker starts from.
 */
export interface TaskProgress {
  /** The latest checkpoint the integration recorded; absent when nothing irreversible happened. */
  readonly checkpoint?: Checkpoint;
  /** How many times the task has been handed off before (0 for a task fresh from a poll). */
  readonly handOffCount: number;
  /** When the first worker received the task (ms since the epoch), for time-to-completion. */
  readonly firstReceivedAtMs: number;
}

/** A success or failure: the answer a task is due. */
export type AnswerOutcome = TaskOutcome & { kind: 'success' | 'failure' };

/**
 * Where work goes that a stopping worker cannot finish (a process on SIGTERM, a Lambda invocation
 * running out), e.g. a queue a later Lambda invocation (the resumer) reads.
 */
export interface HandOff {
  /**
   * Gives a task the worker cannot finish to someone who can. Resolves `true` when the task was
   * accepted: the worker then neither answers it nor heartbeats it again. `false` or a throw makes
   * the worker fail it with `EKS.WorkerInterrupted`. `progress.handOffCount` is the count before
   * this hand-off; the target increments it.
   */
  handOffTask(task: ReceivedTask, progress: TaskProgress): Promise<boolean>;
  /**
   * Gives a ready answer that could not be delivered before the worker must stop to someone who
   * will deliver it. Resolves `true` once accepted; `false` or a throw means the answer is lost.
   * Absent: answers retry until delivered or `answerRetry.maxElapsedMs` (a process is never
   * frozen mid-retry; a Lambda sandbox is, so the Lambda hosts have it).
   */
  handOffAnswer?(
    task: ReceivedTask,
    progress: TaskProgress,
    answer: AnswerOutcome,
  ): Promise<boolean>;
}

/** A durable queue of hand-off message bodies (SQS in production, in memory in unit tests). */
export interface HandOffQueue {
  /** Resolves once the queue has stored the body; rejects when it did not. */
  send(body: string, options: { delaySeconds: number }): Promise<void>;
  /**
   * Makes a received message visible again after `visibilitySeconds` (SQS
   * ChangeMessageVisibility), so a message whose processing failed is redelivered soon instead of
   * after the queue's visibility timeout. Optional: a queue without it redelivers late.
   */
  changeVisibility?(receiptHandle: string, visibilitySeconds: number): Promise<void>;
}

/** A message received from the hand-off queue, held by whoever received it until it is deleted. */
export interface LeasedMessage {
  readonly messageId: string;
  readonly body: string;
  /** The handle of this receipt: renews, releases and deletes this holder's lease. */
  readonly receiptHandle: string;
  /** How many times the queue has handed the message out, this time included (1 if unknown). */
  readonly receiveCount: number;
}

/** A lease whose renewal the queue refused, and why (`ReceiptHandleIsInvalid`, ...). */
export interface LeaseChangeFailure {
  readonly receiptHandle: string;
  readonly errorName: string;
  /** Whether the lease is gone for good (another holder may have the message now). */
  readonly lost: boolean;
}

/**
 * The hand-off queue as a carrier uses it: a message received is a lease (its visibility timeout)
 * that the holder renews while it carries the task, and that expires by itself if the holder dies,
 * so another carrier receives the message and carries the task on.
 */
export interface LeaseQueue extends HandOffQueue {
  /**
   * Long-polls for up to `maxMessages` (1 to 10) messages for up to `waitSeconds` (0 to 20), each
   * leased for `leaseSeconds`. Takes no AbortSignal for the same reason as GetActivityTask: a
   * receive aborted after the queue answered leaves its messages leased to nobody until the lease
   * expires.
   */
  receive(options: {
    maxMessages: number;
    waitSeconds: number;
    leaseSeconds: number;
  }): Promise<LeasedMessage[]>;
  /**
   * Sets many leases at once (ChangeMessageVisibilityBatch, 10 a call): renews them, or with 0
   * releases them. Resolves with the entries the queue refused; rejects only when no call got
   * through.
   */
  changeVisibilities(
    entries: readonly { receiptHandle: string; visibilitySeconds: number }[],
  ): Promise<LeaseChangeFailure[]>;
  /** Deletes a message (its task is answered, or carried on by a newer message). */
  delete(receiptHandle: string): Promise<void>;
}

/** How a task ended, as hosts count it (metrics). */
export interface TaskEndEvent {
  readonly activityName: string;
  readonly integration: string;
  /**
   * `success`, `failure`, `abandoned`, `parked` (its wait went to the hand-off queue, from where a
   * carrier goes on with it) or `handed-off` (a stopping worker gave it to the queue).
   */
  readonly kind: 'success' | 'failure' | 'abandoned' | 'parked' | 'handed-off';
  /** The error name of a failure (`EKS.JobFailed`, ...). */
  readonly errorName?: string;
  /** From the first receipt of the task (across hand-offs) to now. */
  readonly sinceFirstReceivedMs: number;
  /** Whether it was resumed from a hand-off. */
  readonly resumed: boolean;
}

/**
 * Optional observer of task lifecycle events, for metrics. Called synchronously; must not throw
 * (a throw is caught and logged so counting can never cost a task).
 */
export interface TaskObserver {
  taskStarted?(event: { activityName: string; integration: string; resumed: boolean }): void;
  taskEnded?(event: TaskEndEvent): void;
  heartbeatFailed?(event: { activityName: string; errorName: string }): void;
  /** How delivering an answer ended (`AnswerResult` of `answer.ts`), for any task's answer. */
  answerEnded?(event: AnswerEndEvent): void;
}

/** How an answer's delivery ended. */
export interface AnswerEndEvent {
  readonly activityName: string;
  /** `delivered`, `task-gone`, `gave-up` (lost: the execution waits for its timeout), `handed-off`. */
  readonly result: 'delivered' | 'task-gone' | 'gave-up' | 'handed-off';
  /** Whether this was an answer handed off earlier, delivered by the resumer. */
  readonly handedOffAnswer: boolean;
}
