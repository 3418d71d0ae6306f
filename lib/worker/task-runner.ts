import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ErrorName, InvalidParametersError } from '../errors.ts';
import {
  type AbortCause,
  type Checkpoint,
  TaskAbortedError,
  type TaskContext,
} from '../integrations/types.ts';
import { JsonNestingTooDeepError, parseJson } from '../json/exact-json.ts';
import type { BackoffOptions } from '../retry/backoff.ts';
import { listenForAbort } from './abort-fan-out.ts';
import { type AnswerResult, type AnswerRetryOptions, sendAnswer } from './answer.ts';
import { type Heartbeater, startHeartbeater } from './heartbeater.ts';
import {
  type FinalOutcome,
  makeFailureOutcome,
  makeInterruptedFailure,
  makeOutcomeFromError,
  type TaskOutcome,
  type TaskSettlement,
  toTaskOutcome,
} from './outcome.ts';
import type {
  ActivityApi,
  Clock,
  HandOff,
  ReceivedTask,
  TaskObserver,
  TaskProgress,
} from './ports.ts';
import type { ServedActivity } from './resolve-integration.ts';
import { readErrorName } from './sfn-errors.ts';

/**
 * A short, stable, non-secret id for a task: the first 12 hex digits of SHA-256 of its token.
 * Logs need to correlate lines of one task; the token itself is a bearer secret.
 */
export const makeTaskId = (taskToken: string): string =>
  createHash('sha256').update(taskToken).digest('hex').slice(0, 12);

/** Everything the runner needs besides the task; shared by all tasks of one worker. */
export interface TaskRunnerEnvironment {
  readonly activityApi: ActivityApi;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatRetryBackoff: BackoffOptions;
  readonly answerRetry: AnswerRetryOptions;
  readonly cleanupOnAbandon: boolean;
  /** How long an aborted integration may take to return (clean-up) before it is left behind. */
  readonly abortSettleMs: number;
  /**
   * The hand-off queue's side of the worker. With it, a task is parked there as soon as its
   * integration records a checkpoint (its wait becomes durable and any worker carries it on), an
   * interrupted task goes there, and (with `handOffAnswer`) so does an answer still not delivered
   * when the grace ends. Without it, waits stay in this process, an interrupted task fails as
   * `EKS.WorkerInterrupted`, and answers retry until delivered or `answerRetry.maxElapsedMs`.
   */
  readonly handOff?: HandOff;
  /**
   * Aborted when running tasks must give up now (the shutdown grace has ended). Its reason may be
   * a {@link TaskAbortedError} naming why (`{ kind: 'handed-off' }`: another worker has the task,
   * stop without handing it off again); any other reason means `{ kind: 'shutdown' }`.
   */
  readonly graceEndedSignal: AbortSignal;
  readonly observer?: TaskObserver;
}

/** Calls an observer hook; counting must never cost a task, so a throw is only logged. */
const notify = (logger: Logger, call: () => void): void => {
  try {
    call();
  } catch (error) {
    logger.warn('Task observer failed', { errorName: readErrorName(error) });
  }
};

/** Where a task stands while it runs: the checkpoint is replaced as the integration records. */
interface TaskState {
  checkpoint: Checkpoint | undefined;
  /** Started with the integration; stopped once the task is answered, handed off or dropped. */
  heartbeater?: Heartbeater;
  /** Sending the task to the hand-off queue after its first checkpoint, once begun. */
  parking?: Promise<void>;
  /** The queue took the parked task: another worker carries its wait on and answers it. */
  parked: boolean;
}

/** How a task's run ended, and (when it was answered here) how the answer's delivery ended. */
export interface TaskRun {
  readonly outcome: FinalOutcome;
  readonly answer?: AnswerResult;
}

const settle = (promise: Promise<unknown>): Promise<TaskSettlement> =>
  promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );

const readAbortCause = (signal: AbortSignal): AbortCause | undefined =>
  signal.aborted && signal.reason instanceof TaskAbortedError
    ? signal.reason.abortCause
    : undefined;

/** Why the host ended the grace: what it says, else a shutdown. */
const readGraceEndCause = (signal: AbortSignal): AbortCause =>
  readAbortCause(signal) ?? { kind: 'shutdown' };

/**
 * The one pipeline of every task, new from a poll or carried on from the hand-off queue: parse
 * the input, run the integration (or with a checkpoint in `progress`, `resume` it) with
 * heartbeats, park it in the hand-off queue once it has a checkpoint, turn the result into a
 * {@link TaskOutcome}, then answer, hand off, or (abandoned, parked) stay silent.
 * With `progress` (a task carried on), the first heartbeat goes at once. Never throws: a task
 * received must always be dealt with.
 */
export const runTask = async (
  activity: ServedActivity,
  task: ReceivedTask,
  env: TaskRunnerEnvironment,
  progress?: TaskProgress,
): Promise<TaskRun> => {
  const taskId = makeTaskId(task.taskToken);
  const logger = env.logger.createChild({
    persistentKeys: {
      activity: activity.activityName,
      integration: activity.integration.activitySuffix,
      taskId,
      // The execution history's ActivityStarted shows this: search the logs for it.
      ...(task.poll === undefined ? {} : { workerName: task.poll.workerName }),
    },
  });
  const startedAtMs = env.clock.now();
  const resumed = progress !== undefined;
  const state: TaskState = { checkpoint: progress?.checkpoint, parked: false };
  const progressNow = (): TaskProgress => ({
    ...(state.checkpoint === undefined ? {} : { checkpoint: state.checkpoint }),
    handOffCount: progress?.handOffCount ?? 0,
    firstReceivedAtMs: progress?.firstReceivedAtMs ?? startedAtMs,
  });
  if (resumed) {
    logger.info('Task resumed', {
      handOffCount: progress.handOffCount,
      fromCheckpoint: progress.checkpoint !== undefined,
    });
  } else {
    logger.info('Task received');
  }
  const observed = {
    activityName: activity.activityName,
    integration: activity.integration.activitySuffix,
  };
  notify(logger, () => env.observer?.taskStarted?.({ ...observed, resumed }));

  try {
    let ran: TaskOutcome;
    try {
      ran = env.graceEndedSignal.aborted
        ? makeOutcomeFromError(new TaskAbortedError(readGraceEndCause(env.graceEndedSignal)))
        : await runIntegration(activity, task, env, logger, taskId, state, progressNow, resumed);
    } catch (error) {
      ran = makeOutcomeFromError(error);
    }
    // A park still in flight decides whether this run answers: once the queue has the task,
    // whoever carries it on answers, with the same output this run would have given.
    await state.parking;
    if (state.parked) ran = { kind: 'handed-off' };

    const outcome =
      ran.kind === 'interrupted' ? await tryHandOff(task, env, logger, progressNow()) : ran;

    const durationMs = env.clock.now() - startedAtMs;
    const sinceFirstReceivedMs = env.clock.now() - (progress?.firstReceivedAtMs ?? startedAtMs);
    notify(logger, () =>
      env.observer?.taskEnded?.({
        ...observed,
        kind: state.parked ? 'parked' : outcome.kind,
        ...(outcome.kind === 'failure' ? { errorName: outcome.error } : {}),
        sinceFirstReceivedMs,
        resumed,
      }),
    );
    switch (outcome.kind) {
      case 'abandoned':
        logger.info('Task abandoned; no answer sent', { sfnError: outcome.sfnError, durationMs });
        break;
      case 'handed-off':
        if (state.parked) {
          logger.info('Task parked; its wait is carried on from the hand-off queue', {
            durationMs,
          });
        } else {
          logger.info('Task handed off', { durationMs });
        }
        break;
      default: {
        const handOffAnswer = env.handOff?.handOffAnswer?.bind(env.handOff);
        const result = await sendAnswer(outcome, {
          activityApi: env.activityApi,
          taskToken: task.taskToken,
          retry: env.answerRetry,
          clock: env.clock,
          random: env.random,
          logger: logger.createChild({ persistentKeys: { durationMs } }),
          // The grace's end is when a stopping worker must let go: an answer still retrying then
          // is handed off with the task's progress rather than lost.
          ...(handOffAnswer === undefined
            ? {}
            : {
                handOff: {
                  signal: env.graceEndedSignal,
                  handOffAnswer: (answer) => handOffAnswer(task, progressNow(), answer),
                },
              }),
        });
        notify(logger, () =>
          env.observer?.answerEnded?.({
            activityName: activity.activityName,
            result,
            handedOffAnswer: false,
          }),
        );
        return { outcome, answer: result };
      }
    }
    return { outcome };
  } finally {
    // Heartbeats go on until the answer is delivered: under load an answer can take longer than
    // the rest of an interval to get through, and Step Functions' heartbeat clock runs until then.
    await state.heartbeater?.stop();
  }
};

const runIntegration = async (
  activity: ServedActivity,
  task: ReceivedTask,
  env: TaskRunnerEnvironment,
  logger: Logger,
  taskId: string,
  state: TaskState,
  progressNow: () => TaskProgress,
  resumed: boolean,
): Promise<TaskOutcome> => {
  let input: unknown;
  try {
    input = parseJson(task.input);
  } catch (error) {
    // Step Functions always sends JSON; anything else is a caller or transport problem. Input
    // holding a number a double cannot hold is read by a recursive parser, which has a depth
    // limit of its own: say so rather than "not JSON".
    const message =
      error instanceof JsonNestingTooDeepError
        ? 'the task input is nested too deeply to be read'
        : 'the task input is not valid JSON';
    return makeOutcomeFromError(new InvalidParametersError([{ path: '$', message }]));
  }

  const controller = new AbortController();
  const { signal } = controller;
  const abort = (cause: AbortCause): void => {
    if (!signal.aborted) controller.abort(new TaskAbortedError(cause));
  };
  const onGraceEnded = (): void => abort(readGraceEndCause(env.graceEndedSignal));
  const stopListeningForGraceEnd = listenForAbort(env.graceEndedSignal, onGraceEnded);

  state.heartbeater = startHeartbeater({
    activityApi: env.activityApi,
    taskToken: task.taskToken,
    heartbeatIntervalMs: env.heartbeatIntervalMs,
    retryBackoff: env.heartbeatRetryBackoff,
    clock: env.clock,
    random: env.random,
    logger,
    firstBeatAtOnce: resumed,
    onTaskGone: (sfnError) => abort({ kind: 'abandoned', sfnError }),
    onHeartbeatFailed: (errorName) =>
      notify(logger, () =>
        env.observer?.heartbeatFailed?.({ activityName: activity.activityName, errorName }),
      ),
  });

  const durableCheckpoint = state.checkpoint !== undefined;
  const context: TaskContext = {
    signal,
    logger,
    clock: env.clock,
    activityName: activity.activityName,
    cleanupOnAbandon: env.cleanupOnAbandon,
    handsOffOnShutdown: env.handOff !== undefined,
    taskId,
    ...(task.poll === undefined ? {} : { poll: task.poll }),
    checkpoint: (checkpoint) => {
      state.checkpoint = checkpoint;
      // Only the first checkpoint makes the wait durable; a task carried on from a message that
      // has one keeps later ones for its hand-back (an older checkpoint resumes just as well).
      const { handOff } = env;
      if (handOff === undefined || state.parking !== undefined || durableCheckpoint) return;
      state.parking = parkTask(handOff, task, progressNow(), logger).then((parked) => {
        if (!parked) return;
        state.parked = true;
        abort({ kind: 'handed-off' });
      });
    },
  };
  const { integration } = activity;
  const resumeFrom = state.checkpoint;
  if (resumeFrom !== undefined && integration.resume === undefined) {
    // Something was created that this integration cannot pick up again; starting over could
    // create it twice, so the task fails instead.
    return makeFailureOutcome(ErrorName.WorkerError, {
      message: `The task was handed off after it started, and ${integration.activitySuffix} cannot resume it.`,
    });
  }

  // An integration that ignores its signal must not hold the worker (or its shutdown) forever:
  // once aborted it gets `abortSettleMs` to return, e.g. to delete what it created.
  const giveUpTimer = new AbortController();
  const settledAfterAbort = new Promise<TaskSettlement | undefined>((resolve) => {
    const onAbort = (): void => {
      void env.clock.sleep(env.abortSettleMs, giveUpTimer.signal).then(() => resolve(undefined));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    giveUpTimer.signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });

  try {
    const running = settle(
      Promise.resolve().then(() =>
        resumeFrom !== undefined && integration.resume !== undefined
          ? integration.resume(input, resumeFrom, context)
          : integration.run(input, context),
      ),
    );
    const settlement = await Promise.race([running, settledAfterAbort]);
    if (settlement === undefined) {
      logger.warn('Integration did not return after its task was aborted', {
        abortSettleMs: env.abortSettleMs,
      });
    }
    return toTaskOutcome(
      settlement ?? { status: 'rejected', reason: signal.reason },
      readAbortCause(signal),
      integration.outputTooLargeAdvice,
    );
  } finally {
    giveUpTimer.abort();
    stopListeningForGraceEnd();
  }
};

/**
 * Makes a wait durable: sends the task with its first checkpoint to the hand-off queue, from where
 * any worker carries it on. Until the queue has it, the wait goes on here; if the queue refuses
 * it, it goes on here to the end (as without a queue), and only a stop hands it off.
 */
const parkTask = async (
  handOff: HandOff,
  task: ReceivedTask,
  progress: TaskProgress,
  logger: Logger,
): Promise<boolean> => {
  try {
    if (await handOff.handOffTask(task, progress)) return true;
    logger.warn('Parking declined; the wait goes on in this worker');
  } catch (error) {
    logger.warn('Parking the wait failed; it goes on in this worker', {
      errorName: readErrorName(error),
      errorMessage: error instanceof Error ? error.message : String(error),
    });
  }
  return false;
};

/** An interrupted task is handed off when a target takes it, else failed as interrupted. */
const tryHandOff = async (
  task: ReceivedTask,
  env: TaskRunnerEnvironment,
  logger: Logger,
  progress: TaskProgress,
): Promise<FinalOutcome> => {
  if (env.handOff === undefined) return makeInterruptedFailure();
  try {
    if (await env.handOff.handOffTask(task, progress)) return { kind: 'handed-off' };
    logger.warn('Hand-off declined the task; failing it as interrupted');
  } catch (error) {
    logger.error('Hand-off failed; failing the task as interrupted', {
      errorName: readErrorName(error),
    });
  }
  return makeInterruptedFailure();
};
