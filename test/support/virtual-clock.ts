/**
 * Virtual time for tests: sleeps wake in order when the test advances the clock, with no real
 * waiting, so a test of a poll or a re-list interval is fast and deterministic.
 */
import type { Clock } from '../../lib/clock.ts';

export class VirtualClock implements Clock {
  #nowMs = 0;
  #timers: { wakeAtMs: number; wake: () => void }[] = [];
  now(): number {
    return this.#nowMs;
  }
  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = { wakeAtMs: this.#nowMs + delayMs, wake: resolve };
      this.#timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.#timers = this.#timers.filter((other) => other !== timer);
          resolve();
        },
        { once: true },
      );
    });
  }
  /** Sleeps pending (not yet woken or aborted). */
  get pending(): number {
    return this.#timers.length;
  }
  /** Runs every timer due up to `untilMs`, letting promise chains settle between them. */
  async runUntil(untilMs: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      this.#timers.sort((a, b) => a.wakeAtMs - b.wakeAtMs);
      const next = this.#timers[0];
      if (!next || next.wakeAtMs > untilMs) break;
      this.#timers.shift();
      this.#nowMs = next.wakeAtMs;
      next.wake();
    }
    this.#nowMs = untilMs;
  }
  /** Runs every timer due in the next `ms`. */
  advance(ms: number): Promise<void> {
    return this.runUntil(this.#nowMs + ms);
  }
}
