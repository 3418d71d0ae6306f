/**
 * Bounds how many tasks run at once. A poller takes a slot BEFORE it calls GetActivityTask, so a
 * task that arrives always has room to run: a token handed out can never be left waiting for a
 * free slot while its heartbeat clock ticks (Temporal's worker tuner does the same).
 */
export class TaskSlots {
  readonly #maxSlots: number;
  #inUse = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(maxSlots: number) {
    if (!Number.isInteger(maxSlots) || maxSlots < 1) {
      throw new RangeError(`maxSlots must be a positive integer, got ${maxSlots}`);
    }
    this.#maxSlots = maxSlots;
  }

  /** Slots currently held. */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * Waits for a free slot and takes it. Resolves `false` without taking one when `signal` aborts
   * first (the loop is stopping; waiting for a slot, unlike a poll, is safe to abandon).
   */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#inUse < this.#maxSlots) {
      this.#inUse += 1;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.#inUse += 1;
        resolve(true);
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(grant);
        if (index >= 0) this.#waiters.splice(index, 1);
        resolve(false);
      };
      this.#waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Gives a slot back, handing it straight to the longest waiter if there is one. */
  release(): void {
    if (this.#inUse <= 0) throw new Error('TaskSlots.release called more often than acquire');
    this.#inUse -= 1;
    this.#waiters.shift()?.();
  }
}
