/**
 * Bounds how many tasks run at once. A slot is taken BEFORE GetActivityTask is called and held by
 * the poll while it is in flight, so a task that arrives always has room to run: a token handed out
 * can never be left waiting for a free slot while its heartbeat clock ticks (Temporal's worker
 * tuner does the same). Who gets a free slot is the poll scheduler's decision
 * (`poll-scheduler.ts`), not first come first served: that is what keeps one long-polling activity
 * from starving the others.
 */
export class TaskSlots {
  readonly #maxSlots: number;
  #inUse = 0;

  constructor(maxSlots: number) {
    if (!Number.isInteger(maxSlots) || maxSlots < 1) {
      throw new RangeError(`maxSlots must be a positive integer, got ${maxSlots}`);
    }
    this.#maxSlots = maxSlots;
  }

  /** Slots currently held (polls in flight and running tasks). */
  get inUse(): number {
    return this.#inUse;
  }

  /** Slots nobody holds. */
  get free(): number {
    return this.#maxSlots - this.#inUse;
  }

  /** Takes a slot if one is free; never waits. */
  tryAcquire(): boolean {
    if (this.#inUse >= this.#maxSlots) return false;
    this.#inUse += 1;
    return true;
  }

  /** Gives a slot back. */
  release(): void {
    if (this.#inUse <= 0) throw new Error('TaskSlots.release called more often than acquire');
    this.#inUse -= 1;
  }
}
