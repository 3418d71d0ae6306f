/**
 * Stream plumbing shared by the container logs: a Readable that pulls from an async iterator only
 * when its reader wants more (backpressure), a byte limit, and the kubelet's timestamp format.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';

/**
 * A byte stream pulled from `makeIterator` on demand. Destroying the stream aborts the signal the
 * iterator got, so an iterator waiting for more output (follow) ends promptly.
 */
export const makePullStream = (
  makeIterator: (signal: AbortSignal) => AsyncIterator<string | Buffer>,
): Readable => {
  const controller = new AbortController();
  const iterator = makeIterator(controller.signal);
  return new Readable({
    read() {
      iterator.next().then(
        (result) => {
          if (this.destroyed) return;
          this.push(result.done ? null : result.value);
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          this.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
    destroy(error, callback) {
      controller.abort();
      void iterator.return?.().catch(() => undefined);
      callback(error);
    },
  });
};

/** Resolves after `delayMs`, or early when `wake` fires; rejects when `signal` aborts. */
export const waitForChange = (
  delayMs: number,
  signal: AbortSignal,
  subscribe: (wake: () => void) => () => void,
): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const finish = (): void => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      finish();
      reject(signal.reason);
    };
    const timer = setTimeout(
      () => {
        finish();
        resolve();
      },
      Math.max(1, delayMs),
    );
    const unsubscribe = subscribe(() => {
      finish();
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Passes the first `maxBytes` bytes through and ends, cutting mid-line if need be (as the kubelet's
 * `limitBytes` does); the source is then destroyed so a huge or followed log stops being produced.
 */
export const limitStreamBytes = (source: Readable, maxBytes: number): Readable => {
  let remaining = maxBytes;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (remaining <= 0) {
        callback();
        return;
      }
      const piece = chunk.length <= remaining ? chunk : chunk.subarray(0, remaining);
      remaining -= piece.length;
      this.push(piece);
      if (remaining <= 0) {
        this.push(null);
        source.unpipe(limiter);
        source.destroy();
      }
      callback();
    },
  });
  limiter.on('close', () => source.destroy());
  source.on('error', (error) => limiter.destroy(error));
  if (maxBytes <= 0) {
    limiter.end();
    source.destroy();
    return limiter;
  }
  source.pipe(limiter);
  return limiter;
};

/**
 * A log line's timestamp as the kubelet prints it with `timestamps=true`: RFC 3339 with exactly
 * nine fractional digits (the kubelet pads, unlike Go's RFC3339Nano, so lines align).
 * @param timeMs epoch milliseconds, fractional part kept down to the nanosecond
 */
export const formatLogTimestamp = (timeMs: number): string => {
  const wholeMs = Math.floor(timeMs);
  const nanosInMs = Math.min(999_999, Math.max(0, Math.round((timeMs - wholeMs) * 1e6)));
  const iso = new Date(wholeMs).toISOString(); // 2024-01-01T00:00:00.123Z
  const millis = iso.slice(20, 23);
  return `${iso.slice(0, 19)}.${millis}${String(nanosInMs).padStart(6, '0')}Z`;
};

/** Parses a timestamp written by `formatLogTimestamp` back to epoch milliseconds. */
export const parseLogTimestamp = (text: string): number => {
  const wholeMs = Date.parse(`${text.slice(0, 23)}Z`);
  const nanosInMs = Number(text.slice(23, 29));
  return wholeMs + nanosInMs / 1e6;
};
