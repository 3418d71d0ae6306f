/**
 * Decides which activity each free slot polls for, and how many long polls each activity keeps in
 * flight. Every poll holds a slot (`slots.ts`), so a task it returns always has room to run.
 *
 * - Coverage first: a free slot goes to the activity with the fewest polls in flight, and among
 *   those to the one whose last poll started longest ago. So every served activity has a long poll
 *   before any has a second, and when slots are short they rotate through the activities instead
 *   of queueing behind whichever poller asked first (which left an activity without a poll for a
 *   whole 60 s hold).
 * - Autoscaling, as Temporal's poller autoscaler does: a poll that returns a task raises its
 *   activity's target by one (up to `maxPollsPerActivity`), a poll that comes back empty lowers it
 *   (down to one). A burst grows to many polls within a few round trips; without work each
 *   activity is back to one poll after a single long-poll hold.
 * - A failed poll backs its activity off (exponential, jittered) and drops its target to one;
 *   the other activities keep polling.
 *
 * Polls are never aborted (a token handed out to an aborted request is lost until its timeout):
 * stopping only means no new poll starts.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type BackoffOptions, computeBackoffDelayMs } from '../retry/backoff.ts';
import type { Clock, PolledTask } from './ports.ts';
import type { ServedActivity } from './resolve-integration.ts';
import { readErrorName } from './sfn-errors.ts';
import type { TaskSlots } from './slots.ts';

export interface PollSchedulerOptions {
  readonly activities: readonly ServedActivity[];
  readonly slots: TaskSlots;
  /** The most long polls one activity may have in flight (autoscaling's ceiling). */
  readonly maxPollsPerActivity: number;
  readonly pollBackoff: BackoffOptions;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** When it aborts, no new poll starts; polls in flight finish. */
  readonly stopSignal: AbortSignal;
  /** One GetActivityTask for the activity. */
  readonly poll: (activity: ServedActivity) => Promise<PolledTask>;
  /**
   * A poll returned a task. The task now owns the poll's slot: call {@link PollScheduler.taskDone}
   * once it has been answered, handed off or abandoned.
   */
  readonly onTask: (
    activity: ServedActivity,
    polled: PolledTask & { taskToken: string; input: string },
  ) => void;
}

/** How one activity is being polled (for tests and logs). */
export interface ActivityPollState {
  readonly activityName: string;
  readonly inFlight: number;
  readonly target: number;
  readonly backingOff: boolean;
}

export interface PollScheduler {
  /** Gives back the slot of a task that has been dealt with, and polls with it. */
  taskDone(): void;
  /** Polls in flight across all activities. */
  readonly pollsInFlight: number;
  /** Per-activity poll state, in the order the activities were given. */
  snapshot(): ActivityPollState[];
  /** Resolves once polling has stopped and no poll is in flight any more. */
  readonly drained: Promise<void>;
}

interface ActivityState {
  readonly activity: ServedActivity;
  inFlight: number;
  target: number;
  failures: number;
  backingOff: boolean;
  /** Sequence number of the last poll started for it: the lowest has waited longest. */
  lastStart: number;
}

/** Starts polling at once; see the module comment for the rules. */
export const startPollScheduler = (options: PollSchedulerOptions): PollScheduler => {
  const { slots, logger, stopSignal } = options;
  const maxPolls = Math.max(1, options.maxPollsPerActivity);
  const states: ActivityState[] = options.activities.map((activity) => ({
    activity,
    inFlight: 0,
    target: 1,
    failures: 0,
    backingOff: false,
    lastStart: 0,
  }));
  let pollsInFlight = 0;
  let startSequence = 0;
  let pumping = false;
  let resolveDrained!: () => void;
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve;
  });
  const checkDrained = (): void => {
    if (stopSignal.aborted && pollsInFlight === 0) resolveDrained();
  };

  /** The activity the next free slot should poll for, if any may poll now. */
  const pickNext = (): ActivityState | undefined => {
    let best: ActivityState | undefined;
    for (const state of states) {
      if (state.backingOff || state.inFlight >= state.target) continue;
      if (
        best === undefined ||
        state.inFlight < best.inFlight ||
        (state.inFlight === best.inFlight && state.lastStart < best.lastStart)
      ) {
        best = state;
      }
    }
    return best;
  };

  const pump = (): void => {
    // startPoll never calls back synchronously, but a guard keeps that an implementation detail.
    if (pumping) return;
    pumping = true;
    try {
      while (!stopSignal.aborted && slots.free > 0) {
        const next = pickNext();
        if (next === undefined) break;
        slots.tryAcquire();
        startPoll(next);
      }
    } finally {
      pumping = false;
    }
  };

  const settle = (state: ActivityState): void => {
    state.inFlight -= 1;
    pollsInFlight -= 1;
    pump();
    checkDrained();
  };

  const startPoll = (state: ActivityState): void => {
    state.inFlight += 1;
    state.lastStart = ++startSequence;
    pollsInFlight += 1;
    void Promise.resolve()
      .then(() => options.poll(state.activity))
      .then(
        (polled) => {
          state.failures = 0;
          if (polled.taskToken === undefined || polled.taskToken === '') {
            // Came back empty: there is less work than polls.
            state.target = Math.max(1, state.target - 1);
            slots.release();
          } else {
            // Work found: another poll may find more.
            state.target = Math.min(maxPolls, state.target + 1);
            handOver(state, { ...polled, taskToken: polled.taskToken, input: polled.input ?? '' });
          }
          settle(state);
        },
        (error: unknown) => {
          // The slot is not held through the backoff: other activities may use it meanwhile.
          slots.release();
          backOff(state, error);
          settle(state);
        },
      );
  };

  const handOver = (
    state: ActivityState,
    task: PolledTask & { taskToken: string; input: string },
  ): void => {
    try {
      options.onTask(state.activity, task);
    } catch (error) {
      // onTask owns the task from here; it never throws, but a slot must not leak if it did.
      logger.error('Handing a polled task to its runner failed', {
        activity: state.activity.activityName,
        errorName: readErrorName(error),
      });
      slots.release();
    }
  };

  const backOff = (state: ActivityState, error: unknown): void => {
    const delayMs = computeBackoffDelayMs(state.failures, options.pollBackoff, options.random);
    state.failures += 1;
    state.target = 1;
    state.backingOff = true;
    logger.error('Polling for a task failed; backing off', {
      activity: state.activity.activityName,
      errorName: readErrorName(error),
      consecutiveFailures: state.failures,
      retryInMs: delayMs,
    });
    void options.clock.sleep(delayMs, stopSignal).then(() => {
      state.backingOff = false;
      pump();
    });
  };

  stopSignal.addEventListener('abort', checkDrained, { once: true });
  pump();
  checkDrained();

  return {
    taskDone: () => {
      slots.release();
      pump();
    },
    get pollsInFlight() {
      return pollsInFlight;
    },
    snapshot: () =>
      states.map((state) => ({
        activityName: state.activity.activityName,
        inFlight: state.inFlight,
        target: state.target,
        backingOff: state.backingOff,
      })),
    drained,
  };
};
