/** Exponential backoff settings; every retry loop in the worker takes one. */
export interface BackoffOptions {
  /** Delay cap of the first retry. */
  baseDelayMs: number;
  /** No single delay is longer than this. */
  maxDelayMs: number;
}

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff And Jitter): a uniformly random delay
 * in [0, min(max, base * 2^attempt)). Many workers retrying the same throttled account then spread
 * out instead of retrying in lock-step against the shared token bucket.
 *
 * @param attempt 0 for the first retry.
 * @param random a source in [0, 1), injectable for tests.
 */
export const computeBackoffDelayMs = (
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number => {
  // 2^attempt overflows to Infinity for large attempts; Math.min keeps the cap.
  const ceilingMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceilingMs);
};
