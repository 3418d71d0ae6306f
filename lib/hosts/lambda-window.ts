/**
 * The time arithmetic of a Lambda invocation. A GetActivityTask cannot be cancelled without
 * losing the task it may return (see `ActivityApi.getActivityTask`), so a poll is started only
 * while the whole poll, the time its task gets to finish, and the hand-off reserve still fit.
 *
 * Invocations overlap: the schedule starts one every interval, and each polls a little longer than
 * that interval (`pollWindowMs`), so the next one has its long polls in flight before this one
 * starts its last. Without the overlap an activity would have no poll between one invocation's
 * last poll and the next tick; with polls as long as the timeout allows, every tick would find
 * the previous invocations still running (throttled ticks, two always on).
 */
import type { WorkerConfig } from '../config.ts';

/** The named buffers of an invocation; `lib/config.ts` produces them. */
export interface InvocationBudget {
  /** The longest a GetActivityTask can take (60 s hold plus margin). */
  readonly longPollBudgetMs: number;
  /** Time a task received by the last poll still gets to finish before a hand-off. */
  readonly taskFinishBudgetMs: number;
  /** The end of the invocation, kept for interrupting, handing off and flushing metrics. */
  readonly handOffReserveMs: number;
  /** How long polls are started at most (the schedule interval plus the overlap); absent: no cap. */
  readonly pollWindowMs?: number;
}

/** The invocation budget from the configuration. */
export const readInvocationBudget = (config: WorkerConfig): InvocationBudget => ({
  longPollBudgetMs: config.longPollBudgetMs,
  taskFinishBudgetMs: config.taskFinishBudgetMs,
  handOffReserveMs: config.handOffReserveMs,
  ...(config.pollWindowMs === undefined ? {} : { pollWindowMs: config.pollWindowMs }),
});

/** The part of Lambda's context the hosts read. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

/**
 * How long from now polls may still be started: the remaining time minus a whole long poll, the
 * finishing budget and the reserve, and no longer than `pollWindowMs`. Negative when not even one
 * poll fits.
 */
export const computePollWindowMs = (remainingMs: number, budget: InvocationBudget): number => {
  const fitsMs =
    remainingMs - budget.longPollBudgetMs - budget.taskFinishBudgetMs - budget.handOffReserveMs;
  return budget.pollWindowMs === undefined ? fitsMs : Math.min(fitsMs, budget.pollWindowMs);
};

/** Whether a poll started now is certain to end, and its task to get its budget, in time. */
export const canStartPoll = (remainingMs: number, budget: InvocationBudget): boolean =>
  computePollWindowMs(remainingMs, budget) >= 0;

/**
 * How long running tasks may still work, from now: everything but the reserve (never negative).
 * When it has passed they are interrupted and handed off.
 */
export const computeWorkWindowMs = (remainingMs: number, budget: InvocationBudget): number =>
  Math.max(0, remainingMs - budget.handOffReserveMs);

/**
 * The time an interrupted integration gets to return: half the reserve, so the other half is
 * left for the hand-off message and the metrics flush, and never more than `capMs`.
 */
export const computeAbortSettleMs = (budget: InvocationBudget, capMs: number): number =>
  Math.max(0, Math.min(capMs, Math.floor(budget.handOffReserveMs / 2)));
