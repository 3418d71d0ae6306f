/**
 * The latest event of each object a shared watch has seen, oldest first, with an index by label.
 *
 * A new subscriber is first told what is already known about the objects it wants. Thousands of
 * runJob.sync tasks subscribe to one namespace's pods, each under its own `job-name` label: a scan
 * of every remembered object per subscription made that quadratic (at 5,000 tasks, seconds of CPU
 * that delayed heartbeats). The label index makes it proportional to the objects that match.
 * Only label names someone has looked up are indexed: a Job's pods carry half a dozen labels,
 * most unique per pod, and indexing them all cost tens of MiB at 5,000 Jobs.
 */

/** What the index needs of an object. */
export interface LabelledObject {
  metadata?: { name?: string; labels?: Record<string, string> };
}

/** The key of one label pair, as the index stores it. */
export const labelPairKey = (label: string, value: string): string => `${label}=${value}`;

export class RememberedObjects<T extends { event: { object: LabelledObject } }> {
  readonly #byName = new Map<string, T>();
  readonly #namesByLabel = new Map<string, Set<string>>();
  /** The label names kept in #namesByLabel. */
  readonly #indexedLabels = new Set<string>();
  readonly #capacity: number;

  /** Beyond `capacity` objects, the one remembered longest ago is forgotten. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#byName.size;
  }

  get(name: string): T | undefined {
    return this.#byName.get(name);
  }

  /** Remembers `entry` as the newest, replacing what was known of `name`. */
  set(name: string, entry: T): void {
    this.delete(name);
    this.#byName.set(name, entry);
    this.#index(name, entry);
    if (this.#byName.size > this.#capacity) {
      const oldest = this.#byName.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
  }

  delete(name: string): void {
    const known = this.#byName.get(name);
    if (known === undefined) return;
    this.#byName.delete(name);
    for (const [label, value] of Object.entries(known.event.object.metadata?.labels ?? {})) {
      if (!this.#indexedLabels.has(label)) continue;
      const key = labelPairKey(label, value);
      const names = this.#namesByLabel.get(key);
      names?.delete(name);
      if (names?.size === 0) this.#namesByLabel.delete(key);
    }
  }

  #index(name: string, entry: T, onlyLabel?: string): void {
    for (const [label, value] of Object.entries(entry.event.object.metadata?.labels ?? {})) {
      if (onlyLabel === undefined ? !this.#indexedLabels.has(label) : label !== onlyLabel) continue;
      const key = labelPairKey(label, value);
      const names = this.#namesByLabel.get(key) ?? new Set<string>();
      names.add(name);
      this.#namesByLabel.set(key, names);
    }
  }

  /** Every remembered entry, oldest first. */
  values(): IterableIterator<T> {
    return this.#byName.values();
  }

  /** A snapshot of [name, entry] pairs, oldest first (safe to change the set while iterating). */
  entries(): [string, T][] {
    return [...this.#byName];
  }

  /** The entries of objects that carry `label: value` (the first lookup of a label indexes it). */
  *withLabel(label: string, value: string): Generator<T> {
    if (!this.#indexedLabels.has(label)) {
      this.#indexedLabels.add(label);
      for (const [name, entry] of this.#byName) this.#index(name, entry, label);
    }
    for (const name of [...(this.#namesByLabel.get(labelPairKey(label, value)) ?? [])]) {
      const entry = this.#byName.get(name);
      if (entry !== undefined) yield entry;
    }
  }
}
