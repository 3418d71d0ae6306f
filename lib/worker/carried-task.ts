/**
 * One message a carrier holds: a parked or handed-off task whose wait it carries on through the
 * same task runner as a task fresh from a poll, or a ready answer it only delivers. The message
 * stays in the queue, leased to this carrier, until the task is answered (then it is deleted) or
 * carried on by a newer message (re-parked with a checkpoint, or handed back at a stop).
 *
 * The message holds a task token: never log its body.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Integration, TaskAbortedError } from '../integrations/types.ts';
import { type AnswerResult, sendAnswer } from './answer.ts';
import {
  type AnswerHandOffMessage,
  answerHandOffMessageVersion,
  makeAnswerHandOffBody,
  makeHandOffMessage,
  maxHandOffMessageBytes,
  parseQueuedMessage,
  type QueuedMessage,
  readHandedOffAnswer,
  readPoll,
  toAnswerTask,
  toResumableTask,
} from './hand-off-message.ts';
import type { HandOff, LeasedMessage, LeaseQueue, ReceivedTask, TaskProgress } from './ports.ts';
import { resolveIntegration } from './resolve-integration.ts';
import { readErrorName } from './sfn-errors.ts';
import { makeTaskId, runTask, type TaskRunnerEnvironment } from './task-runner.ts';

/**
 * How a carried message ended, as the Lambda event source needs to know: `done` (deleted, or
 * replaced by a newer message: the source may delete it too), `retry` (left in the queue: an
 * unreadable message on its way to the dead-letter queue, a lease lost to another carrier, an
 * answer that could not be delivered).
 */
export type CarryResult = 'done' | 'retry';

/** What a carried message shares with its carrier. */
export interface CarriedTaskContext {
  readonly queue: LeaseQueue;
  readonly integrations: readonly Integration[];
  /** The runner's environment; each carried task gets its own stop signal and hand-off. */
  readonly environment: TaskRunnerEnvironment;
  /** Whether an answer still undelivered at a stop is queued (Lambda) or retried (a process). */
  readonly carryAnswers: boolean;
  readonly logger: Logger;
}

/** A message held by a carrier, from receipt to its end. */
export interface CarriedTask {
  readonly message: LeasedMessage;
  /** Whether the lease was lost: another carrier may hold the message now. */
  readonly leaseLost: boolean;
  /** Whether it has settled (answered, handed on or given up); its lease needs no renewal. */
  readonly settled: boolean;
  /** Resolves once the message has been dealt with. */
  readonly done: Promise<CarryResult>;
  /** The carrier stops: hand the task back to the queue now (with its newest checkpoint). */
  stop(): void;
  /** The lease is gone: stop carrying the task, without an answer and without handing it off. */
  loseLease(): void;
}

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Starts carrying one leased message; never rejects. */
export const carryMessage = (message: LeasedMessage, context: CarriedTaskContext): CarriedTask => {
  const stopController = new AbortController();
  const state = {
    leaseLost: false,
    stopping: false,
    settled: false,
    replaced: false,
    released: false,
  };
  const logger = context.logger.createChild({
    persistentKeys: { messageId: message.messageId, receiveCount: message.receiveCount },
  });

  /** Deletes the message this carrier holds; a failure only means it comes back once. */
  const deleteMessage = async (): Promise<void> => {
    try {
      await context.queue.delete(message.receiptHandle);
    } catch (error) {
      logger.warn('Deleting a carried message failed; it returns once its lease ends', {
        errorName: readErrorName(error),
      });
    }
  };
  /** Lets the message go at once, for another carrier to take. */
  const release = async (): Promise<void> => {
    try {
      await context.queue.changeVisibility?.(message.receiptHandle, 0);
    } catch (error) {
      logger.warn('Releasing a carried message failed; it returns once its lease ends', {
        errorName: readErrorName(error),
      });
    }
  };
  /**
   * Puts `body` in place of the held message. At a stop a failed send releases the held one
   * instead (it carries the task just as well); otherwise (a park) the failure is the runner's,
   * and the wait goes on here.
   */
  const replaceWith = async (body: string): Promise<boolean> => {
    if (state.leaseLost) return true;
    try {
      if (byteLength(body) > maxHandOffMessageBytes) {
        throw new Error('the message would exceed the SQS size limit');
      }
      await context.queue.send(body, { delaySeconds: 0 });
    } catch (error) {
      if (!state.stopping) throw error;
      logger.warn('Handing a carried task back failed; releasing its message instead', {
        errorName: readErrorName(error),
      });
      await release();
      state.released = true;
      return true;
    }
    state.replaced = true;
    await deleteMessage();
    return true;
  };
  const handOff: HandOff = {
    handOffTask: (task: ReceivedTask, progress: TaskProgress) =>
      replaceWith(JSON.stringify(makeHandOffMessage(task, progress))),
    ...(context.carryAnswers
      ? {
          handOffAnswer: (task, progress, answer) =>
            replaceWith(makeAnswerHandOffBody(task, progress, answer)),
        }
      : {}),
  };

  const run = async (): Promise<CarryResult> => {
    let queued: QueuedMessage;
    try {
      queued = parseQueuedMessage(message.body);
    } catch (error) {
      logger.error('Hand-off message unreadable; leaving it for the dead-letter queue', {
        problem: (error as Error).message,
      });
      return 'retry';
    }
    const integration = resolveIntegration(queued.activityName, context.integrations);
    const { poll } = readPoll(queued);
    const taskLogger = logger.createChild({
      persistentKeys: {
        activity: queued.activityName,
        taskId: makeTaskId(queued.taskToken),
        handOffCount: queued.handOffCount,
        ...(poll === undefined ? {} : { workerName: poll.workerName }),
      },
    });
    if (integration === undefined) {
      taskLogger.error('Hand-off message names an activity no integration serves', {});
      return 'retry';
    }
    const environment: TaskRunnerEnvironment = {
      ...context.environment,
      logger: context.environment.logger.createChild({
        persistentKeys: { messageId: message.messageId },
      }),
      handOff,
      graceEndedSignal: stopController.signal,
    };
    let answer: AnswerResult | undefined;
    if (queued.version === answerHandOffMessageVersion) {
      answer = await deliverAnswer(queued, environment, taskLogger);
    } else {
      const { task, progress } = toResumableTask(queued);
      const activity = {
        activityArn: task.activityArn,
        activityName: task.activityName,
        integration,
      };
      ({ answer } = await runTask(activity, task, environment, progress));
    }
    // Released (its hand-back failed): the message itself carries the task on, so an event
    // source must not delete it. Replaced: a newer message carries it. Lost: another carrier
    // holds it now.
    if (state.released) return 'retry';
    if (state.replaced) return 'done';
    if (state.leaseLost) return 'retry';
    // An answer Step Functions would not take (refused, or retries ran out) is not deleted: the
    // message comes back once its lease ends, and its next carrier tries again from the Job.
    if (answer === 'gave-up') return 'retry';
    // Answered, abandoned (the execution is gone), or an answer handed on: nothing is left to do.
    await deleteMessage();
    return 'done';
  };

  const done = run()
    .catch((error: unknown): CarryResult => {
      // Defensive: everything expected is handled above; the message is left to come back.
      logger.error('Carrying a hand-off message crashed', { errorName: readErrorName(error) });
      return 'retry';
    })
    .finally(() => {
      state.settled = true;
    });

  return {
    message,
    get leaseLost() {
      return state.leaseLost;
    },
    get settled() {
      return state.settled;
    },
    done,
    stop: () => {
      state.stopping = true;
      stopController.abort();
    },
    loseLease: () => {
      if (state.leaseLost) return;
      state.leaseLost = true;
      logger.warn('Lease on a carried task lost; another worker carries it on');
      stopController.abort(new TaskAbortedError({ kind: 'handed-off' }));
    },
  };
};

/**
 * Delivers an answer a worker computed but could not deliver before it stopped. Nothing runs
 * again; at a stop it is queued again (Lambda) or retried until delivered (a process).
 */
const deliverAnswer = async (
  message: AnswerHandOffMessage,
  environment: TaskRunnerEnvironment,
  logger: Logger,
): Promise<AnswerResult> => {
  let outcome: ReturnType<typeof readHandedOffAnswer>;
  try {
    outcome = readHandedOffAnswer(message);
  } catch (error) {
    logger.error('Handed-off answer unreadable; leaving it for the dead-letter queue', {
      problem: (error as Error).message,
    });
    return 'gave-up';
  }
  const { task, progress } = toAnswerTask(message);
  const handOffAnswer = environment.handOff?.handOffAnswer?.bind(environment.handOff);
  logger.info('Delivering a handed-off answer', { answer: outcome.kind });
  const result = await sendAnswer(outcome, {
    activityApi: environment.activityApi,
    taskToken: message.taskToken,
    retry: environment.answerRetry,
    clock: environment.clock,
    random: environment.random,
    logger,
    ...(handOffAnswer === undefined
      ? {}
      : {
          handOff: {
            signal: environment.graceEndedSignal,
            handOffAnswer: (answer) => handOffAnswer(task, progress, answer),
          },
        }),
  });
  try {
    environment.observer?.answerEnded?.({
      activityName: message.activityName,
      result,
      handedOffAnswer: true,
    });
  } catch (error) {
    logger.warn('Task observer failed', { errorName: readErrorName(error) });
  }
  return result;
};
