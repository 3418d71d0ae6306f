/**
 * The one poll loop every host runs. Hosts only decide when to stop: a process on SIGTERM, a
 * Lambda invocation before its time runs out, a test when it is done.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Integration } from '../integrations/types.ts';
import type { BackoffOptions } from '../retry/backoff.ts';
import type { AnswerRetryOptions } from './answer.ts';
import { startPollScheduler } from './poll-scheduler.ts';
import { makePollWorkerName } from './poll-worker-name.ts';
import {
  type ActivityApi,
  type Clock,
  type HandOff,
  type ReceivedTask,
  systemClock,
  type TaskObserver,
} from './ports.ts';
import { resolveActivities } from './resolve-integration.ts';
import { readErrorName } from './sfn-errors.ts';
import { TaskSlots } from './slots.ts';
import { runTask, type TaskRunnerEnvironment } from './task-runner.ts';

/** How the worker polls and runs tasks. `lib/config.ts` produces the required fields. */
export interface WorkerOptions {
  /** Activities to serve; each name must end with an integration's suffix. */
  readonly activityArns: readonly string[];
  /** Sent with GetActivityTask; shows in the execution history (at most 80 characters). */
  readonly workerName: string;
  /**
   * Tasks running at once across all activities. A poll in flight holds a slot too, so a task it
   * returns always has room to run.
   */
  readonly maxConcurrentTasks: number;
  /**
   * The most long polls one activity may have in flight: each activity keeps one, and more while
   * polls keep returning tasks (see `poll-scheduler.ts`). Each poll also needs a free slot.
   */
  readonly pollersPerActivity: number;
  /** Time between SendTaskHeartbeat calls of a running task. */
  readonly heartbeatIntervalMs: number;
  /** Passed to integrations: undo started work when a task is abandoned. */
  readonly cleanupOnAbandon: boolean;
  /** Backoff after a failed GetActivityTask. @default { baseDelayMs: 1000, maxDelayMs: 60000 } */
  readonly pollBackoff?: BackoffOptions;
  /** Backoff for retrying a failed heartbeat. @default { baseDelayMs: 1000, maxDelayMs: 30000 } */
  readonly heartbeatRetryBackoff?: BackoffOptions;
  /**
   * Retries of SendTaskSuccess/Failure.
   * @default { baseDelayMs: 200, maxDelayMs: 20000, maxElapsedMs: 900000 }
   */
  readonly answerRetry?: AnswerRetryOptions;
  /** Time an aborted integration gets to return (clean up) before it is left. @default 10000 */
  readonly abortSettleMs?: number;
  /** When it aborts, no new poll starts (same as {@link Worker.stopPolling}). */
  readonly stopPollingSignal?: AbortSignal;
}

/** The worker's collaborators, in one object so tests and hosts can replace any of them. */
export interface WorkerDependencies {
  readonly activityApi: ActivityApi;
  readonly integrations: readonly Integration[];
  readonly logger: Logger;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Random source in [0, 1) for backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Where tasks go that a stopping worker cannot finish. Absent: they fail as interrupted. */
  readonly handOff?: HandOff;
  /** Told when tasks start and end and when heartbeats fail (metrics). */
  readonly observer?: TaskObserver;
}

/** A running worker. */
export interface Worker {
  /** Starts no new poll. Polls in flight finish and their tasks run; running tasks continue. */
  stopPolling(): void;
  /**
   * Stops gracefully: stops polling; running tasks, and tasks that polls in flight still return,
   * get until `graceMs` from now to finish; then their signals abort with `{ kind: 'shutdown' }`
   * and they are handed off or failed with `EKS.WorkerInterrupted`. Resolves when every task
   * received has been answered, handed off or abandoned. Calling again can only shorten the grace.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Resolves when the worker has stopped polling and every task it received is dealt with. */
  readonly stopped: Promise<void>;
  /** Tasks currently running (slots held, including polls in flight). */
  readonly busySlots: number;
}

export const defaultPollBackoff: BackoffOptions = { baseDelayMs: 1_000, maxDelayMs: 60_000 };
export const defaultHeartbeatRetryBackoff: BackoffOptions = {
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
};
export const defaultAnswerRetry: AnswerRetryOptions = {
  baseDelayMs: 200,
  maxDelayMs: 20_000,
  // 15 minutes: long enough to ride out a regional throttling storm or a network blip; bounded
  // so a stopping host still ends.
  maxElapsedMs: 900_000,
};
export const defaultAbortSettleMs = 10_000;

/**
 * The environment every task of a worker runs in, from the worker's options (defaults filled in)
 * and dependencies. The Lambda resumer runs single tasks in the same environment.
 */
export const makeTaskRunnerEnvironment = (
  options: Pick<
    WorkerOptions,
    | 'heartbeatIntervalMs'
    | 'heartbeatRetryBackoff'
    | 'answerRetry'
    | 'cleanupOnAbandon'
    | 'abortSettleMs'
  >,
  deps: Omit<WorkerDependencies, 'integrations'>,
  graceEndedSignal: AbortSignal,
): TaskRunnerEnvironment => ({
  activityApi: deps.activityApi,
  clock: deps.clock ?? systemClock,
  random: deps.random ?? Math.random,
  logger: deps.logger,
  heartbeatIntervalMs: options.heartbeatIntervalMs,
  heartbeatRetryBackoff: options.heartbeatRetryBackoff ?? defaultHeartbeatRetryBackoff,
  answerRetry: options.answerRetry ?? defaultAnswerRetry,
  cleanupOnAbandon: options.cleanupOnAbandon,
  abortSettleMs: options.abortSettleMs ?? defaultAbortSettleMs,
  graceEndedSignal,
  ...(deps.handOff === undefined ? {} : { handOff: deps.handOff }),
  ...(deps.observer === undefined ? {} : { observer: deps.observer }),
});

/**
 * Validates the activities against the integrations (throws a WorkerConfigurationError listing
 * every problem) and starts polling. Never rejects later: poll, heartbeat and answer errors are
 * logged and retried.
 */
export const startWorker = (options: WorkerOptions, deps: WorkerDependencies): Worker => {
  const activities = resolveActivities(options.activityArns, deps.integrations);
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const { logger } = deps;
  const slots = new TaskSlots(options.maxConcurrentTasks);
  const stopPollingController = new AbortController();
  const graceEndedController = new AbortController();
  // Every running task listens for the end of the grace, and every activity in backoff for the
  // stop: hundreds of listeners are expected, not a leak (Node warns from 11 on).
  setMaxListeners(0, graceEndedController.signal, stopPollingController.signal);
  let graceTimer = new AbortController();
  const runningTasks = new Set<Promise<unknown>>();
  let graceDeadlineMs = Number.POSITIVE_INFINITY;

  const stopPolling = (): void => {
    if (stopPollingController.signal.aborted) return;
    logger.info('Polling stopped; polls in flight will finish', { busySlots: slots.inUse });
    stopPollingController.abort();
  };
  if (options.stopPollingSignal?.aborted) stopPolling();
  options.stopPollingSignal?.addEventListener('abort', stopPolling, { once: true });

  const runnerEnvironment = makeTaskRunnerEnvironment(
    options,
    { ...deps, clock, random },
    graceEndedController.signal,
  );

  const scheduler = startPollScheduler({
    activities,
    slots,
    maxPollsPerActivity: options.pollersPerActivity,
    pollBackoff: options.pollBackoff ?? defaultPollBackoff,
    clock,
    random,
    logger,
    stopSignal: stopPollingController.signal,
    // Never given the stop signal: see ActivityApi.getActivityTask.
    poll: async (activity) => {
      // Each poll names itself: the history's ActivityStarted shows it, the task's logs carry it.
      const poll = makePollWorkerName(options.workerName);
      const polled = await deps.activityApi.getActivityTask({
        activityArn: activity.activityArn,
        workerName: poll.workerName,
      });
      return { ...polled, poll };
    },
    onTask: (activity, polled) => {
      const task: ReceivedTask = {
        activityArn: activity.activityArn,
        activityName: activity.activityName,
        taskToken: polled.taskToken,
        input: polled.input,
        ...(polled.poll === undefined ? {} : { poll: polled.poll }),
      };
      // The task owns the poll's slot from here and gives it back when it has been dealt with.
      const running: Promise<unknown> = runTask(activity, task, runnerEnvironment)
        .catch((error: unknown) => {
          logger.error('Task runner crashed', { errorName: readErrorName(error) });
        })
        .finally(() => {
          runningTasks.delete(running);
          scheduler.taskDone();
        });
      runningTasks.add(running);
    },
  });
  logger.info('Worker started', {
    activities: activities.map((activity) => activity.activityName),
    maxConcurrentTasks: options.maxConcurrentTasks,
    maxPollsPerActivity: options.pollersPerActivity,
  });

  const stopped = (async () => {
    await scheduler.drained;
    // No poll is in flight and none will start: no task can be added; wait for the running ones.
    while (runningTasks.size > 0) await Promise.all(runningTasks);
    graceTimer.abort();
    logger.info('Worker stopped');
  })();

  const stop = async (stopOptions: { graceMs?: number } = {}): Promise<void> => {
    stopPolling();
    const graceMs = Math.max(0, stopOptions.graceMs ?? 0);
    const deadlineMs = clock.now() + graceMs;
    if (deadlineMs < graceDeadlineMs) {
      graceDeadlineMs = deadlineMs;
      logger.info('Worker stopping', { graceMs, busySlots: slots.inUse });
      // A shorter grace replaces the pending timer.
      graceTimer.abort();
      const timer = new AbortController();
      graceTimer = timer;
      void clock.sleep(graceMs, timer.signal).then(() => {
        if (timer.signal.aborted || graceEndedController.signal.aborted) return;
        if (runningTasks.size > 0) {
          logger.warn('Shutdown grace period over; interrupting running tasks', {
            runningTasks: runningTasks.size,
          });
        }
        graceEndedController.abort();
      });
    }
    await stopped;
  };

  return {
    stopPolling,
    stop,
    stopped,
    get busySlots() {
      return slots.inUse;
    },
  };
};
