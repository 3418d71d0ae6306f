/**
 * The Lambda poller host: one invocation serves the activities for its poll window (a little
 * longer than the schedule interval, so the next invocation polls before this one stops; see
 * `lambda-window.ts`), lets the tasks it received run until the hand-off reserve, then hands the
 * unfinished ones off (with their checkpoints) so the resumer finishes them. Knows nothing of middy: the handler in
 * `functions/poller.ts` wraps it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerConfig } from '../config.ts';
import type { Integration } from '../integrations/types.ts';
import type { ActivityApi, Clock, HandOff, TaskObserver } from '../worker/ports.ts';
import { systemClock } from '../worker/ports.ts';
import { startWorker, type WorkerOptions } from '../worker/worker.ts';
import { makeWorkerOptions } from './compose.ts';
import {
  computePollWindowMs,
  type InvocationClock,
  readInvocationBudget,
} from './lambda-window.ts';

/** Everything one poller invocation needs. */
export interface PollerInvocationOptions {
  readonly config: WorkerConfig;
  readonly integrations: readonly Integration[];
  readonly activityApi: ActivityApi;
  readonly logger: Logger;
  /** Lambda's context (or a test's countdown). */
  readonly context: InvocationClock;
  /** Where unfinished tasks go; without it they fail as `EKS.WorkerInterrupted`. */
  readonly handOff?: HandOff;
  readonly observer?: TaskObserver;
  readonly clock?: Clock;
  /** Fine-tuning of the loop (backoffs) beyond what the configuration holds. */
  readonly workerOptions?: Partial<WorkerOptions>;
}

/** What an invocation did, for its last log line and for tests. */
export interface PollerInvocationSummary {
  /** Whether any poll was allowed to start (false when the invocation was too short). */
  readonly polled: boolean;
  /** How long polls could be started, from the start of the invocation. */
  readonly pollWindowMs: number;
}

/**
 * Runs the shared poll loop for one invocation. Polls start only during the poll window; then
 * the worker stops with a grace that ends at the hand-off reserve, when tasks still running are
 * interrupted and handed off. Resolves when every task received is answered or handed off.
 */
export const runPollerInvocation = async (
  options: PollerInvocationOptions,
): Promise<PollerInvocationSummary> => {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const budget = readInvocationBudget(config);
  const startedAtMs = clock.now();
  const deadlineMs = startedAtMs + options.context.getRemainingTimeInMillis();
  const pollWindowMs = computePollWindowMs(deadlineMs - startedAtMs, budget);
  if (pollWindowMs < 0) {
    logger.warn('Invocation too short to poll; raise the function timeout', {
      remainingMs: deadlineMs - startedAtMs,
      ...budget,
    });
    return { polled: false, pollWindowMs };
  }
  const stopPolling = new AbortController();
  const worker = startWorker(
    {
      ...makeWorkerOptions(config, 'lambda-poller'),
      ...options.workerOptions,
      stopPollingSignal: stopPolling.signal,
    },
    {
      activityApi: options.activityApi,
      integrations: options.integrations,
      logger,
      clock,
      ...(options.handOff ? { handOff: options.handOff } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    },
  );
  await clock.sleep(pollWindowMs);
  stopPolling.abort();
  // Counted from the deadline, not from the window: timers can fire late under load.
  const graceMs = Math.max(0, deadlineMs - clock.now() - budget.handOffReserveMs);
  await worker.stop({ graceMs });
  logger.info('Poller invocation done', { pollWindowMs, usedMs: clock.now() - startedAtMs });
  return { polled: true, pollWindowMs };
};
