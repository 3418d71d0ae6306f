/**
 * Time, behind a port so tests can shorten or control it. The worker's loop and the integrations'
 * waits (a Job, a control-plane status, the shared watch's re-list) all sleep through the one
 * clock the host gives the worker, so a test's virtual clock reaches every wait.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `delayMs`, or early (without throwing) when `signal` aborts. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. `sleep` resolves early on abort so a stopping loop never waits out a backoff. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (delayMs, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
