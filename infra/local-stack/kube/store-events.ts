/**
 * The store's change feed: every committed write becomes one event, delivered synchronously and in
 * commit order to listeners (controllers, watches), and kept in a bounded history that watches
 * resume from (or learn, with 410 Expired, that they cannot).
 */
import { cloneObject, type KubeObject } from './objects.ts';
import type { ResourceType } from './resource-types.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  /** A deep copy; its `metadata.resourceVersion` is the event's resourceVersion. */
  object: KubeObject;
}

/** What `eventsSince` answers: the events after a version, or that the version is too old. */
export type EventsSinceResult =
  | { kind: 'events'; events: StoreEvent[] }
  | { kind: 'expired'; oldestResourceVersion: number };

interface HistoryEntry {
  resourceVersion: number;
  event: StoreEvent;
}

export class StoreEventLog {
  readonly #listeners = new Set<(e: StoreEvent) => void>();
  readonly #history: HistoryEntry[] = [];
  readonly #historySize: number;
  /** The resourceVersion of the oldest event dropped from the history (0 = none dropped). */
  #droppedUpTo = 0;

  constructor(historySize: number) {
    this.#historySize = historySize;
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestWatchableResourceVersion(): number {
    return this.#droppedUpTo;
  }

  emit(type: WatchEventType, resource: ResourceType, stored: KubeObject): void {
    // One deeply frozen copy is shared by the history and every listener: with hundreds of open
    // watches, a copy per listener made each write cost hundreds of copies and stalled the server.
    // Frozen, so a listener that tried to change it would throw instead of corrupting the others.
    const event: StoreEvent = { type, resource, object: deepFreeze(cloneObject(stored)) };
    this.#history.push({ resourceVersion: Number(stored.metadata.resourceVersion), event });
    while (this.#history.length > this.#historySize) {
      const dropped = this.#history.shift();
      if (dropped) this.#droppedUpTo = dropped.resourceVersion;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // A broken listener must not break the write that triggered it (etcd would not care).
      }
    }
  }

  /** Listens to every committed write, synchronously and in commit order. Returns unsubscribe. */
  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Events with a resourceVersion greater than `resourceVersion`, from the bounded history, or
   * `expired` when events after it have been dropped (a watch must then answer 410 Expired).
   */
  eventsSince(resourceVersion: number): EventsSinceResult {
    if (resourceVersion < this.#droppedUpTo) {
      return { kind: 'expired', oldestResourceVersion: this.#droppedUpTo + 1 };
    }
    const events = this.#history
      .filter((entry) => entry.resourceVersion > resourceVersion)
      .map((entry) => entry.event);
    return { kind: 'events', events };
  }
}

/** Freezes an object and everything it holds, so shared event objects stay as they were written. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
