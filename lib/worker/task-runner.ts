import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ErrorName, InvalidParametersError } from '../errors.ts';
import { type AbortCause, TaskAbortedError, type TaskContext } from '../integrations/types.ts';
import { type AnswerRetryOptions, sendAnswer } from './answer.ts';
import type { BackoffOptions } from './backoff.ts';
import { startHeartbeater } from './heartbeater.ts';
import {
  makeInterruptedOutcome,
  makeOutcomeFromError,
  type TaskOutcome,
  type TaskSettlement,
  toTaskOutcome,
} from './outcome.ts';
import type { ActivityApi, Clock, HandOff, ReceivedTask } from './ports.ts';
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
  readonly handOff?: HandOff;
  /** Aborted when the shutdown grace period has ended: running tasks must give up now. */
  readonly graceEndedSignal: AbortSignal;
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

/**
 * Runs one received task to its end: parse input, run the integration with heartbeats, turn the
 * result into a {@link TaskOutcome}, then answer, hand off, or (abandoned) stay silent.
 * Never throws: a task received must always be dealt with.
 */
export const runTask = async (
  activity: ServedActivity,
  task: ReceivedTask,
  env: TaskRunnerEnvironment,
): Promise<TaskOutcome> => {
  const taskId = makeTaskId(task.taskToken);
  const logger = env.logger.createChild({
    persistentKeys: {
      activity: activity.activityName,
      integration: activity.integration.activitySuffix,
      taskId,
    },
  });
  const startedAtMs = env.clock.now();
  logger.info('Task received');

  let outcome: TaskOutcome;
  try {
    outcome = env.graceEndedSignal.aborted
      ? makeInterruptedOutcome()
      : await runIntegration(activity, task, env, logger, taskId);
  } catch (error) {
    outcome = makeOutcomeFromError(error);
  }

  if (outcome.kind === 'failure' && outcome.error === ErrorName.WorkerInterrupted) {
    outcome = await tryHandOff(task, env, logger, outcome);
  }

  const durationMs = env.clock.now() - startedAtMs;
  switch (outcome.kind) {
    case 'abandoned':
      logger.info('Task abandoned; no answer sent', { sfnError: outcome.sfnError, durationMs });
      break;
    case 'handed-off':
      logger.info('Task handed off', { durationMs });
      break;
    default:
      await sendAnswer(outcome, {
        activityApi: env.activityApi,
        taskToken: task.taskToken,
        retry: env.answerRetry,
        clock: env.clock,
        random: env.random,
        logger: logger.createChild({ persistentKeys: { durationMs } }),
      });
  }
  return outcome;
};

const runIntegration = async (
  activity: ServedActivity,
  task: ReceivedTask,
  env: TaskRunnerEnvironment,
  logger: Logger,
  taskId: string,
): Promise<TaskOutcome> => {
  let input: unknown;
  try {
    input = JSON.parse(task.input);
  } catch {
    // Step Functions always sends JSON; anything else is a caller or transport problem.
    return makeOutcomeFromError(
      new InvalidParametersError([{ path: '$', message: 'the task input is not valid JSON' }]),
    );
  }

  const controller = new AbortController();
  const { signal } = controller;
  const abort = (cause: AbortCause): void => {
    if (!signal.aborted) controller.abort(new TaskAbortedError(cause));
  };
  const onGraceEnded = (): void => abort({ kind: 'shutdown' });
  env.graceEndedSignal.addEventListener('abort', onGraceEnded, { once: true });

  const heartbeater = startHeartbeater({
    activityApi: env.activityApi,
    taskToken: task.taskToken,
    heartbeatIntervalMs: env.heartbeatIntervalMs,
    retryBackoff: env.heartbeatRetryBackoff,
    clock: env.clock,
    random: env.random,
    logger,
    onTaskGone: (sfnError) => abort({ kind: 'abandoned', sfnError }),
  });

  const context: TaskContext = {
    signal,
    logger,
    activityName: activity.activityName,
    cleanupOnAbandon: env.cleanupOnAbandon,
    taskId,
  };

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
    const running = settle(Promise.resolve().then(() => activity.integration.run(input, context)));
    const settlement = await Promise.race([running, settledAfterAbort]);
    if (settlement === undefined) {
      logger.warn('Integration did not return after its task was aborted', {
        abortSettleMs: env.abortSettleMs,
      });
    }
    return toTaskOutcome(
      settlement ?? { status: 'rejected', reason: signal.reason },
      readAbortCause(signal),
    );
  } finally {
    giveUpTimer.abort();
    env.graceEndedSignal.removeEventListener('abort', onGraceEnded);
    await heartbeater.stop();
  }
};

const tryHandOff = async (
  task: ReceivedTask,
  env: TaskRunnerEnvironment,
  logger: Logger,
  interrupted: TaskOutcome,
): Promise<TaskOutcome> => {
  if (env.handOff === undefined) return interrupted;
  try {
    if (await env.handOff(task)) return { kind: 'handed-off' };
    logger.warn('Hand-off declined the task; failing it as interrupted');
  } catch (error) {
    logger.error('Hand-off failed; failing the task as interrupted', {
      errorName: readErrorName(error),
    });
  }
  return interrupted;
};
