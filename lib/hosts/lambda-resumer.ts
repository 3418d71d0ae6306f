/**
 * The Lambda resumer host: the SQS event source delivers hand-off messages; for each one the
 * resumer sends a heartbeat first (the only way to learn the execution is gone), then continues the
 * task under the same task runner as the poller (heartbeats, outcome boundary, answer with
 * retries) until its own invocation nears its end, then re-queues it with the newest checkpoint.
 *
 * At-least-once and exactly-once: SQS may deliver a message twice, and a message whose re-queue
 * failed is redelivered. A second resumer of an already answered task learns so from its first
 * heartbeat (TaskTimedOut / TaskDoesNotExist) or from Step Functions refusing the second answer;
 * both end the message. The queue's visibility timeout must exceed the function timeout so one
 * message is not processed twice at once. HeartbeatSeconds of the states must exceed the re-queue
 * delay plus the event source's batching window, or a re-queued task times out while it waits.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerConfig } from '../config.ts';
import {
  type Checkpoint,
  type Integration,
  TaskAbortedError,
  type TaskContext,
} from '../integrations/types.ts';
import { parseJson } from '../json/exact-json.ts';
import { sendAnswer } from '../worker/answer.ts';
import {
  type AnswerHandOffMessage,
  answerHandOffMessageVersion,
  type HandOffMessage,
  makeQueueAnswerHandOff,
  makeQueueTaskHandOff,
  parseQueuedMessage,
  type QueuedMessage,
  readHandedOffAnswer,
  readPoll,
  toAnswerTask,
  toResumableTask,
} from '../worker/hand-off-message.ts';
import {
  type ActivityApi,
  type Clock,
  type HandOff,
  type HandOffQueue,
  systemClock,
  type TaskObserver,
} from '../worker/ports.ts';
import { resolveIntegration } from '../worker/resolve-integration.ts';
import { classifySfnError, readErrorName, SfnErrorKind } from '../worker/sfn-errors.ts';
import { makeTaskId, runTask } from '../worker/task-runner.ts';
import {
  defaultAbortSettleMs,
  defaultAnswerRetry,
  makeTaskRunnerEnvironment,
} from '../worker/worker.ts';
import { makeWorkerOptions } from './compose.ts';
import {
  computeWorkWindowMs,
  type InvocationClock,
  readInvocationBudget,
} from './lambda-window.ts';

/** The fields of an SQS event record the resumer reads. */
export interface SqsRecordLike {
  readonly messageId: string;
  readonly body: string;
  /** Needed to make a record that must be redelivered visible again soon. */
  readonly receiptHandle?: string;
}

/** Lambda's partial batch response (`ReportBatchItemFailures`). */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Everything one resumer invocation needs. */
export interface ResumerInvocationOptions {
  readonly config: WorkerConfig;
  readonly integrations: readonly Integration[];
  readonly activityApi: ActivityApi;
  readonly logger: Logger;
  readonly context: InvocationClock;
  /** Where a task still unfinished at the end of the invocation is re-queued. */
  readonly queue: HandOffQueue;
  readonly observer?: TaskObserver;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/**
 * How one record ended: `done` deletes the message; `retry` has SQS redeliver it after the
 * queue's visibility timeout; `retry-soon` (its task could not be re-queued) has it redelivered
 * after the re-queue delay.
 */
type RecordResult = 'done' | 'retry' | 'retry-soon';

/**
 * Resumes every record of the batch at once. Reports as batch item failures the records SQS must
 * redeliver: an unreadable message (after maxReceiveCount it lands in the dead-letter queue) and a
 * task whose re-queue failed.
 */
export const resumeHandedOffTasks = async (
  records: readonly SqsRecordLike[],
  options: ResumerInvocationOptions,
): Promise<BatchResponse> => {
  const clock = options.clock ?? systemClock;
  const budget = readInvocationBudget(options.config);
  const workWindowMs = computeWorkWindowMs(options.context.getRemainingTimeInMillis(), budget);
  const graceEnded = new AbortController();
  const windowTimer = new AbortController();
  void clock.sleep(workWindowMs, windowTimer.signal).then(() => {
    if (!windowTimer.signal.aborted) graceEnded.abort();
  });
  try {
    const results = await Promise.all(
      records.map((record) =>
        resumeRecord(record, options, clock, graceEnded.signal)
          .catch((error: unknown): RecordResult => {
            // Defensive: resumeRecord handles what it expects; an unexpected throw must not lose
            // the task, so the message is redelivered.
            options.logger.error('Resuming a hand-off message crashed', {
              messageId: record.messageId,
              errorName: readErrorName(error),
            });
            return 'retry';
          })
          .then(async (result) => {
            if (result === 'retry-soon') await expediteRedelivery(record, options);
            return result;
          }),
      ),
    );
    return {
      batchItemFailures: records
        .filter((_record, index) => results[index] !== 'done')
        .map((record) => ({ itemIdentifier: record.messageId })),
    };
  } finally {
    windowTimer.abort();
  }
};

const resumeRecord = async (
  record: SqsRecordLike,
  options: ResumerInvocationOptions,
  clock: Clock,
  graceEndedSignal: AbortSignal,
): Promise<RecordResult> => {
  const { config } = options;
  let message: QueuedMessage;
  try {
    message = parseQueuedMessage(record.body);
  } catch (error) {
    options.logger.error('Hand-off message unreadable; leaving it for the dead-letter queue', {
      messageId: record.messageId,
      problem: (error as Error).message,
    });
    return 'retry';
  }
  const integration = resolveIntegration(message.activityName, options.integrations);
  const { poll } = readPoll(message);
  const logger = options.logger.createChild({
    persistentKeys: {
      activity: message.activityName,
      taskId: makeTaskId(message.taskToken),
      messageId: record.messageId,
      handOffCount: message.handOffCount,
      // The execution history's ActivityStarted shows it: search the logs for it.
      ...(poll === undefined ? {} : { workerName: poll.workerName }),
    },
  });
  if (integration === undefined) {
    logger.error('Hand-off message names an activity no integration serves', {});
    return 'retry';
  }
  if (message.version === answerHandOffMessageVersion) {
    return deliverHandedOffAnswer(message, record, options, clock, graceEndedSignal, logger);
  }

  // The first heartbeat: a task whose execution stopped, timed out or was already answered by
  // another resumer is not run again.
  try {
    await options.activityApi.sendTaskHeartbeat({ taskToken: message.taskToken });
  } catch (error) {
    if (classifySfnError(error) === SfnErrorKind.TaskGone) {
      const sfnError = readErrorName(error);
      logger.info('Handed-off task is gone; dropping it', { sfnError });
      if (config.cleanupOnAbandon && message.checkpoint !== undefined) {
        await cleanUpAbandoned(integration, message, sfnError, logger, options, clock);
      }
      return 'done';
    }
    // Anything else is the runner's heartbeater's problem: it retries.
    logger.warn('First heartbeat of a resumed task failed; resuming anyway', {
      errorName: readErrorName(error),
    });
  }

  let requeueFailed = false;
  const handOff = makeRequeue(options, logger, () => {
    requeueFailed = true;
  });
  const { task, progress } = toResumableTask(message);
  // The same environment as a poller's tasks, from the composition root's Lambda options.
  const environment = makeTaskRunnerEnvironment(
    makeWorkerOptions(config, 'lambda-resumer'),
    {
      activityApi: options.activityApi,
      clock,
      random: options.random ?? Math.random,
      logger: options.logger.createChild({ persistentKeys: { messageId: record.messageId } }),
      handOff,
      ...(options.observer ? { observer: options.observer } : {}),
    },
    graceEndedSignal,
  );
  await runTask(
    { activityArn: message.activityArn, activityName: message.activityName, integration },
    task,
    environment,
    progress,
  );
  return requeueFailed ? 'retry-soon' : 'done';
};

/**
 * The resumer's {@link HandOff}: queues the task, or its answer, again. A failed send is reported
 * through `onFailed` and counts as accepted: the message this record came from still exists, and
 * reporting it as failed makes SQS deliver it again (with its older checkpoint, which resumes just
 * as well, or the same answer).
 */
const makeRequeue = (
  options: ResumerInvocationOptions,
  logger: Logger,
  onFailed: () => void,
): Required<HandOff> => {
  const queued = { queue: options.queue, delaySeconds: options.config.requeueDelaySeconds };
  const orRedeliver =
    <A extends unknown[]>(send: (...args: A) => Promise<boolean>, failedLine: string) =>
    async (...args: A): Promise<boolean> => {
      try {
        return await send(...args);
      } catch (error) {
        onFailed();
        logger.error(failedLine, { errorName: readErrorName(error) });
        return true;
      }
    };
  return {
    handOffTask: orRedeliver(
      makeQueueTaskHandOff(queued),
      'Re-queueing the task failed; its message will be redelivered',
    ),
    handOffAnswer: orRedeliver(
      makeQueueAnswerHandOff(queued),
      'Re-queueing the answer failed; its message will be redelivered',
    ),
  };
};

/**
 * Delivers an answer a worker computed but could not deliver in time. Nothing runs again: the
 * answer is sent with retries until the work window ends, then queued again. Step Functions
 * refusing it as gone (TaskTimedOut, TaskDoesNotExist, InvalidToken: the task was answered by an
 * earlier delivery, timed out or was stopped) ends the message like a delivery.
 */
const deliverHandedOffAnswer = async (
  message: AnswerHandOffMessage,
  record: SqsRecordLike,
  options: ResumerInvocationOptions,
  clock: Clock,
  graceEndedSignal: AbortSignal,
  logger: Logger,
): Promise<RecordResult> => {
  let outcome: ReturnType<typeof readHandedOffAnswer>;
  try {
    outcome = readHandedOffAnswer(message);
  } catch (error) {
    logger.error('Handed-off answer unreadable; leaving it for the dead-letter queue', {
      problem: (error as Error).message,
    });
    return 'retry';
  }
  let requeueFailed = false;
  const requeue = makeRequeue(options, logger, () => {
    requeueFailed = true;
  });
  const { task, progress } = toAnswerTask(message);
  logger.info('Delivering a handed-off answer', { answer: outcome.kind });
  const result = await sendAnswer(outcome, {
    activityApi: options.activityApi,
    taskToken: message.taskToken,
    // The work window bounds the retries (the hand-off signal), not the reserve: the invocation
    // has nothing else to do.
    retry: defaultAnswerRetry,
    clock,
    random: options.random ?? Math.random,
    logger: options.logger.createChild({
      persistentKeys: {
        messageId: record.messageId,
        taskId: makeTaskId(message.taskToken),
        ...(task.poll === undefined ? {} : { workerName: task.poll.workerName }),
      },
    }),
    handOff: {
      signal: graceEndedSignal,
      handOffAnswer: (answer) => requeue.handOffAnswer(task, progress, answer),
    },
  });
  try {
    options.observer?.answerEnded?.({
      activityName: message.activityName,
      result,
      handedOffAnswer: true,
    });
  } catch (error) {
    logger.warn('Task observer failed', { errorName: readErrorName(error) });
  }
  return requeueFailed ? 'retry-soon' : 'done';
};

/**
 * Makes a record reported as failed visible again after the re-queue delay. Without this SQS
 * would redeliver it only after the queue's visibility timeout (longer than the function timeout,
 * 5,400 s in serverless.yml), long after HeartbeatSeconds of its state has passed. Lambda's event
 * source leaves failed records as they are, so the visibility set here is what counts. If SQS is
 * down (the likely reason the re-queue failed) this fails too and the record comes back late.
 */
const expediteRedelivery = async (
  record: SqsRecordLike,
  options: ResumerInvocationOptions,
): Promise<void> => {
  const { queue, config, logger } = options;
  if (record.receiptHandle === undefined || queue.changeVisibility === undefined) return;
  try {
    await queue.changeVisibility(record.receiptHandle, config.requeueDelaySeconds);
  } catch (error) {
    logger.error(
      'Making a failed record visible again failed; SQS redelivers it after the visibility timeout',
      { messageId: record.messageId, errorName: readErrorName(error) },
    );
  }
};

/**
 * Lets the integration undo what the task created (e.g. delete its Job), as it would have on an
 * abandoned task in the worker that started it: `resume` runs with a signal already aborted as
 * abandoned, and gets `abortSettleMs` to return.
 */
const cleanUpAbandoned = async (
  integration: Integration,
  message: HandOffMessage,
  sfnError: string,
  logger: Logger,
  options: ResumerInvocationOptions,
  clock: Clock,
): Promise<void> => {
  if (integration.resume === undefined) return;
  const controller = new AbortController();
  controller.abort(new TaskAbortedError({ kind: 'abandoned', sfnError }));
  const context: TaskContext = {
    signal: controller.signal,
    logger,
    activityName: message.activityName,
    cleanupOnAbandon: true,
    taskId: makeTaskId(message.taskToken),
  };
  let input: unknown;
  try {
    input = parseJson(message.input);
  } catch {
    return;
  }
  const settleMs =
    makeWorkerOptions(options.config, 'lambda-resumer').abortSettleMs ?? defaultAbortSettleMs;
  const timer = new AbortController();
  await Promise.race([
    integration.resume(input, message.checkpoint as Checkpoint, context).catch(() => undefined),
    clock.sleep(settleMs, timer.signal),
  ]);
  timer.abort();
};
