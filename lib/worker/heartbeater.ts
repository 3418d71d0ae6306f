import type { Logger } from '@aws-lambda-powertools/logger';
import { type BackoffOptions, computeBackoffDelayMs } from '../retry/backoff.ts';
import type { ActivityApi, Clock } from './ports.ts';
import { classifySfnError, readErrorName, SfnErrorKind } from './sfn-errors.ts';

/** What the heartbeater needs; one instance per running task. */
export interface HeartbeaterOptions {
  readonly activityApi: ActivityApi;
  readonly taskToken: string;
  readonly heartbeatIntervalMs: number;
  /** Delays for retrying a heartbeat that failed transiently (never longer than the interval). */
  readonly retryBackoff: BackoffOptions;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Called once when Step Functions says nobody wants the task any more. */
  readonly onTaskGone: (sfnError: string) => void;
  /** Called on every heartbeat that failed for another reason (it is retried). */
  readonly onHeartbeatFailed?: (errorName: string) => void;
  /**
   * Send the first heartbeat at once rather than one interval after the start: a task carried on
   * from the hand-off queue has gone unheartbeated while it waited there, and the first answer
   * also tells whether its execution still wants it. @default false
   */
  readonly firstBeatAtOnce?: boolean;
}

/** A running heartbeat loop. */
export interface Heartbeater {
  /** Stops the loop (an in-flight heartbeat is aborted) and resolves when it has ended. */
  stop(): Promise<void>;
}

/**
 * Sends SendTaskHeartbeat every `heartbeatIntervalMs` until stopped. A heartbeat only resets the
 * `HeartbeatSeconds` clock, but its answer is also the only way an activity learns that the
 * execution was stopped or timed out: `TaskTimedOut`, `TaskDoesNotExist` or `InvalidToken` end the
 * loop and call `onTaskGone`. Any other error is logged and retried sooner than the interval
 * (the heartbeat clock keeps running), and is never fatal to the task.
 */
export const startHeartbeater = (options: HeartbeaterOptions): Heartbeater => {
  const stopController = new AbortController();
  const { signal } = stopController;

  const loop = async (): Promise<void> => {
    let failures = 0;
    // Fixed rate: the next heartbeat is due one interval after the previous one was *sent*, not
    // after its answer came back, so a slow answer does not stretch every later gap (under load,
    // gaps of interval + round trip add up towards HeartbeatSeconds).
    let nextAtMs =
      options.clock.now() + (options.firstBeatAtOnce ? 0 : options.heartbeatIntervalMs);
    while (!signal.aborted) {
      await options.clock.sleep(Math.max(0, nextAtMs - options.clock.now()), signal);
      if (signal.aborted) return;
      const sentAtMs = options.clock.now();
      try {
        await options.activityApi.sendTaskHeartbeat({ taskToken: options.taskToken }, signal);
        failures = 0;
        nextAtMs = sentAtMs + options.heartbeatIntervalMs;
      } catch (error) {
        if (signal.aborted) return;
        const errorName = readErrorName(error);
        if (classifySfnError(error) === SfnErrorKind.TaskGone) {
          options.logger.warn('Step Functions no longer wants the task; stopping it', {
            sfnError: errorName,
          });
          options.onTaskGone(errorName);
          return;
        }
        failures += 1;
        options.onHeartbeatFailed?.(errorName);
        const delayMs = Math.min(
          options.heartbeatIntervalMs,
          computeBackoffDelayMs(failures - 1, options.retryBackoff, options.random),
        );
        nextAtMs = options.clock.now() + delayMs;
        options.logger.warn('Heartbeat failed; retrying', {
          errorName,
          consecutiveFailures: failures,
          retryInMs: delayMs,
        });
      }
    }
  };

  const done = loop().catch((error: unknown) => {
    // Defensive: the loop catches everything it expects; a bug here must not kill the process.
    options.logger.error('Heartbeat loop crashed', { errorName: readErrorName(error) });
  });

  return {
    stop: async () => {
      stopController.abort();
      await done;
    },
  };
};
