/**
 * What the process host's probes report, read from the poll loop itself: a decorator of the
 * ActivityApi notes when long polls start and end, and the host tells when it started and when it
 * began to stop. Kept free of HTTP so the rules can be tested with a fake clock.
 */
import type { ActivityApi, Clock } from '../worker/ports.ts';

/**
 * A poll loop that neither started nor finished a long poll for this long is stuck: a healthy
 * poller starts one at least every 60 s (the longest hold) or 60 s (the longest poll backoff),
 * plus the request itself.
 */
export const defaultStallAfterMs = 120_000;

export interface HealthReport {
  /** `/healthz`: the poll loop is making progress (or legitimately waiting for a free slot). */
  readonly live: boolean;
  /** `/readyz`: the worker is polling and not shutting down. */
  readonly ready: boolean;
  /** A short reason, shown in the probe's body. */
  readonly detail: string;
}

export interface PollLoopHealth {
  /** The ActivityApi to give the worker: the same calls, with long polls noted. */
  readonly activityApi: ActivityApi;
  /** The worker is polling; `busySlots` reads its slots in use (tasks and polls in flight). */
  started(busySlots: () => number): void;
  /** A stop signal arrived: not ready any more, but alive until the process exits. */
  stopping(): void;
  report(): HealthReport;
  /** Long polls in flight now. */
  readonly pollsInFlight: number;
}

export interface PollLoopHealthOptions {
  readonly activityApi: ActivityApi;
  readonly maxConcurrentTasks: number;
  readonly clock?: Pick<Clock, 'now'>;
  /** @default defaultStallAfterMs */
  readonly stallAfterMs?: number;
}

/** Tracks the poll loop for the probes. */
export const makePollLoopHealth = (options: PollLoopHealthOptions): PollLoopHealth => {
  const { activityApi, maxConcurrentTasks } = options;
  const now = () => (options.clock ?? Date).now();
  const stallAfterMs = options.stallAfterMs ?? defaultStallAfterMs;
  let pollsInFlight = 0;
  let lastProgressMs = now();
  let readBusySlots: (() => number) | undefined;
  let isStopping = false;

  const tracked: ActivityApi = {
    getActivityTask: async (request) => {
      pollsInFlight += 1;
      lastProgressMs = now();
      try {
        return await activityApi.getActivityTask(request);
      } finally {
        pollsInFlight -= 1;
        lastProgressMs = now();
      }
    },
    sendTaskSuccess: (request, signal) => activityApi.sendTaskSuccess(request, signal),
    sendTaskFailure: (request, signal) => activityApi.sendTaskFailure(request, signal),
    sendTaskHeartbeat: (request, signal) => activityApi.sendTaskHeartbeat(request, signal),
  };

  const report = (): HealthReport => {
    if (readBusySlots === undefined) return { live: true, ready: false, detail: 'starting' };
    if (isStopping) return { live: true, ready: false, detail: 'stopping' };
    // Every slot held by a running task: pollers wait for one to free up, rightly not polling.
    const tasksRunning = readBusySlots() - pollsInFlight;
    if (tasksRunning >= maxConcurrentTasks) {
      return { live: true, ready: true, detail: 'all slots busy' };
    }
    const sinceProgressMs = now() - lastProgressMs;
    if (sinceProgressMs > stallAfterMs) {
      return {
        live: false,
        ready: false,
        detail: `no poll started or ended for ${sinceProgressMs} ms`,
      };
    }
    return { live: true, ready: true, detail: 'polling' };
  };

  return {
    activityApi: tracked,
    started: (busySlots) => {
      readBusySlots = busySlots;
      lastProgressMs = now();
    },
    stopping: () => {
      isStopping = true;
    },
    report,
    get pollsInFlight() {
      return pollsInFlight;
    },
  };
};
