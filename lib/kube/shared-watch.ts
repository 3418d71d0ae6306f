/**
 * One watch per collection, shared by every task that waits on objects in it.
 *
 * Why: a worker holding hundreds of `runJob.sync` tasks would otherwise keep two HTTPS watch
 * connections open per task (its Job, its pods), about 90 KiB of memory each, and the API server
 * would carry as many watches. With this, a worker keeps one watch per cluster, namespace and
 * resource, whatever the number of tasks, as client-go's shared informers do.
 *
 * How it stays correct: the shared stream resumes from the last resourceVersion it saw when the
 * server ends it, and starts afresh (the server then replays the current objects as ADDED) after a
 * 410 Expired. It remembers the latest event of each object, so a task that subscribes after an
 * object changed is given that latest state at once instead of missing it. A refusal that retrying
 * cannot fix (401, 403, 404) is passed to the subscribers, who fall back on polling.
 *
 * A watch can also go silent without ending (a half-open connection, a proxy that buffers). When
 * asked for (`resyncIntervalMs`), the collection is re-listed at that interval while anyone
 * subscribes, as informers' relist does: ONE paged LIST per interval for the whole collection,
 * whatever the number of subscribers, so a waiting task costs no requests of its own. What the
 * list shows and the watch did not deliver is delivered as the watch would have (ADDED, MODIFIED,
 * DELETED), and a watch that missed changes and delivered nothing meanwhile is re-opened.
 */
import { type Clock, systemClock } from '../clock.ts';
import { KubeStatus, kubeStatusOf } from '../errors.ts';
import { computeBackoffDelayMs } from '../retry/backoff.ts';
import type { KubeClient, KubeWatchEvent } from './client.ts';
import { RememberedObjects } from './remembered-objects.ts';

interface WatchedObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
}

/** An ADDED, MODIFIED or DELETED event of one object. */
export interface SharedWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: WatchedObject & Record<string, unknown>;
}

/** Names of the objects one re-list found in the collection. */
export interface ResyncSnapshot {
  has(name: string): boolean;
}

export interface WatchCollectionOptions {
  /**
   * Re-list the collection this often while anyone subscribes (the shortest interval any
   * subscriber asked for wins). Absent or 0: never (the watch alone).
   */
  resyncIntervalMs?: number;
  /**
   * Called after each re-list that was sent after this subscription began (so it shows every
   * object that existed when the subscriber subscribed), after its events were delivered.
   */
  onResync?: (listed: ResyncSnapshot) => void;
  /**
   * Something every object this subscriber matches has: its name, or one label. Events are then
   * offered only to subscribers indexed under the object's name or labels (and to those without
   * an index), so thousands of subscribers do not each test every event. `matches` still decides.
   */
  index?: { name: string } | { label: string; value: string };
  /**
   * What the shared watch sleeps on (retry delays, the re-list interval). The first subscriber's
   * is kept for the watch's life: one worker has one clock. @default systemClock
   */
  clock?: Clock;
}

interface Subscriber {
  matches(object: WatchedObject): boolean;
  onEvent(event: SharedWatchEvent): void;
  fail(error: unknown): void;
  onResync: ((listed: ResyncSnapshot) => void) | undefined;
  /** The sequence number when it subscribed. */
  since: number;
  indexKey: string | undefined;
}

const nameKey = (name: string) => `name\u0000${name}`;
const labelKey = (label: string, value: string) => `label\u0000${label}=${value}`;
const indexKeyOf = (index: WatchCollectionOptions['index']): string | undefined =>
  index === undefined
    ? undefined
    : 'name' in index
      ? nameKey(index.name)
      : labelKey(index.label, index.value);

/** The latest event of one object and the sequence number when it was recorded. */
interface Remembered {
  event: SharedWatchEvent;
  seq: number;
}

/** Latest events remembered per collection: enough for every object a busy namespace churns. */
const maxRememberedObjects = 5_000;
/** How long the server keeps one stream open before the shared watch resumes it. */
const watchTimeoutSeconds = 300;
const maxRetryDelayMs = 5_000;
/** Objects per page of a re-list: bounds one response (a Job is a few KiB of JSON). */
const resyncPageSize = 500;

/** 401, 403 and 404 will not change by retrying; everything else (network, 429, 5xx) may. */
const isRefusal = (error: unknown): boolean => [401, 403, 404].includes(kubeStatusOf(error) ?? 0);

const nameOf = (object: WatchedObject): string => object.metadata?.name ?? '';

/**
 * Drops `metadata.managedFields` (server-side-apply bookkeeping, often several KiB per object on
 * a real cluster) before an object is remembered: nothing that waits on Jobs or pods reads it,
 * and the runJob output drops it anyway. client-go users trim informer caches the same way
 * (a TransformFunc that strips managedFields).
 */
const trimmed = <T extends SharedWatchEvent['object']>(object: T): T => {
  if (object.metadata === undefined || !('managedFields' in object.metadata)) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata as Record<string, unknown>;
  return { ...object, metadata };
};

class SharedCollectionWatch {
  readonly #subscribers = new Set<Subscriber>();
  /** Subscribers by index key; those without one are in #unindexed. */
  readonly #indexed = new Map<string, Set<Subscriber>>();
  readonly #unindexed = new Set<Subscriber>();
  /** Latest event per object name, oldest first, indexed by label. */
  readonly #latest = new RememberedObjects<Remembered>(maxRememberedObjects);
  #resourceVersion = '';
  #stop?: AbortController;
  /** Aborting it ends the current stream only; the loop re-opens it from #resourceVersion. */
  #attempt?: AbortController;
  /** Counts subscriptions, recorded events and re-list starts, to order them. */
  #seq = 0;
  /** Watch events received (bookmarks too): a stream that moves is not stuck. */
  #eventsReceived = 0;
  #resyncIntervalMs = 0;
  #resyncing = false;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly clock: Clock,
    private readonly onIdle: () => void,
  ) {}

  subscribe(
    matches: Subscriber['matches'],
    onEvent: Subscriber['onEvent'],
    signal: AbortSignal,
    options: WatchCollectionOptions,
  ): Promise<void> {
    signal.throwIfAborted();
    const interval = options.resyncIntervalMs ?? 0;
    if (interval > 0 && (this.#resyncIntervalMs === 0 || interval < this.#resyncIntervalMs)) {
      this.#resyncIntervalMs = interval;
    }
    return new Promise<void>((_resolve, reject) => {
      const subscriber: Subscriber = {
        matches,
        onEvent,
        fail: reject,
        onResync: options.onResync,
        since: ++this.#seq,
        indexKey: indexKeyOf(options.index),
      };
      this.#add(subscriber);
      signal.addEventListener(
        'abort',
        () => {
          this.#unsubscribe(subscriber);
          reject(signal.reason);
        },
        { once: true },
      );
      const index = options.index;
      if (index !== undefined && 'name' in index) {
        const known = this.#latest.get(index.name);
        if (known !== undefined && matches(known.event.object)) onEvent(known.event);
      } else if (index !== undefined) {
        for (const { event } of this.#latest.withLabel(index.label, index.value)) {
          if (matches(event.object)) onEvent(event);
        }
      } else {
        for (const { event } of this.#latest.values()) {
          if (matches(event.object)) onEvent(event);
        }
      }
      if (!this.#stop) this.#start();
      if (this.#resyncIntervalMs > 0 && !this.#resyncing && this.#stop) {
        void this.#resyncLoop(this.#stop.signal);
      }
    });
  }

  #add(subscriber: Subscriber): void {
    this.#subscribers.add(subscriber);
    if (subscriber.indexKey === undefined) {
      this.#unindexed.add(subscriber);
      return;
    }
    const set = this.#indexed.get(subscriber.indexKey) ?? new Set();
    set.add(subscriber);
    this.#indexed.set(subscriber.indexKey, set);
  }

  #remove(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
    this.#unindexed.delete(subscriber);
    if (subscriber.indexKey === undefined) return;
    const set = this.#indexed.get(subscriber.indexKey);
    set?.delete(subscriber);
    if (set?.size === 0) this.#indexed.delete(subscriber.indexKey);
  }

  /** The subscribers an event of this object may concern. */
  *#candidates(object: WatchedObject): Generator<Subscriber> {
    yield* this.#unindexed;
    const byName = this.#indexed.get(nameKey(nameOf(object)));
    if (byName) yield* byName;
    for (const [label, value] of Object.entries(object.metadata?.labels ?? {})) {
      const byLabel = this.#indexed.get(labelKey(label, value));
      if (byLabel) yield* byLabel;
    }
  }

  #unsubscribe(subscriber: Subscriber): void {
    this.#remove(subscriber);
    if (this.#subscribers.size === 0) this.#end();
  }

  #end(): void {
    this.#stop?.abort();
    this.#stop = undefined;
    this.#resyncIntervalMs = 0;
    this.onIdle();
  }

  #start(): void {
    const stop = new AbortController();
    this.#stop = stop;
    void this.#watchLoop(stop.signal);
  }

  async #watchLoop(stop: AbortSignal): Promise<void> {
    let failures = 0;
    while (!stop.aborted) {
      const attempt = new AbortController();
      this.#attempt = attempt;
      const query: Record<string, string[]> = {
        allowWatchBookmarks: ['true'],
        timeoutSeconds: [String(watchTimeoutSeconds)],
      };
      if (this.#resourceVersion !== '') query.resourceVersion = [this.#resourceVersion];
      try {
        await this.client.watch(
          this.path,
          query,
          (event) => this.#onWatchEvent(event),
          AbortSignal.any([stop, attempt.signal]),
        );
        failures = 0;
      } catch (error) {
        if (stop.aborted) return;
        if (attempt.signal.aborted) continue; // re-opened on purpose (a stuck stream)
        if (kubeStatusOf(error) === KubeStatus.Gone) {
          this.#resourceVersion = '';
          continue;
        }
        if (isRefusal(error)) {
          for (const subscriber of [...this.#subscribers]) {
            this.#remove(subscriber);
            subscriber.fail(error);
          }
          this.#end();
          return;
        }
        failures += 1;
        const delayMs = computeBackoffDelayMs(failures - 1, {
          baseDelayMs: 100,
          maxDelayMs: maxRetryDelayMs,
        });
        await this.clock.sleep(delayMs, stop);
      }
    }
  }

  #onWatchEvent(event: KubeWatchEvent): void {
    this.#eventsReceived += 1;
    const object = (event.object ?? {}) as SharedWatchEvent['object'] & {
      code?: number;
      reason?: string;
    };
    if (event.type === 'ERROR') {
      // 410 Expired: the version left the server's history; start afresh (the server replays
      // every current object as ADDED, which refreshes what we remember).
      if (object.code === 410 || object.reason === 'Expired') this.#resourceVersion = '';
      return;
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.#resourceVersion = version;
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return;
    this.#deliver({ type: event.type, object: trimmed(object) });
  }

  /** Remembers an event as the object's latest and hands it to the subscribers it concerns. */
  #deliver(event: SharedWatchEvent): void {
    const name = nameOf(event.object);
    this.#latest.set(name, { event, seq: ++this.#seq });
    for (const subscriber of [...this.#candidates(event.object)]) {
      if (subscriber.matches(event.object)) subscriber.onEvent(event);
    }
  }

  async #resyncLoop(stop: AbortSignal): Promise<void> {
    this.#resyncing = true;
    try {
      while (!stop.aborted) {
        await this.clock.sleep(this.#resyncIntervalMs, stop);
        if (stop.aborted) return;
        try {
          await this.#resync(stop);
        } catch {
          // Aborted, or the list failed (network, 5xx, even 403): the watch may still be fine,
          // and the next interval tries again.
        }
      }
    } finally {
      this.#resyncing = false;
    }
  }

  /** One paged LIST of the collection, compared with what the watch delivered. */
  async #resync(stop: AbortSignal): Promise<void> {
    const startSeq = ++this.#seq;
    const eventsBefore = this.#eventsReceived;
    const { items, resourceVersion } = await this.#list(stop);
    if (stop.aborted) return;
    let missed = false;
    const listed = new Set<string>();
    for (const object of items) {
      const name = nameOf(object);
      listed.add(name);
      const known = this.#latest.get(name);
      // Recorded after the list was sent: the watch told us something at least as new.
      if (known !== undefined && known.seq > startSeq) continue;
      const present = known !== undefined && known.event.type !== 'DELETED';
      if (
        present &&
        known.event.object.metadata?.resourceVersion === object.metadata?.resourceVersion
      )
        continue;
      missed = true;
      this.#deliver({ type: present ? 'MODIFIED' : 'ADDED', object });
    }
    for (const [name, known] of this.#latest.entries()) {
      if (listed.has(name) || known.seq > startSeq || known.event.type === 'DELETED') continue;
      missed = true;
      this.#deliver({ type: 'DELETED', object: known.event.object });
    }
    const snapshot: ResyncSnapshot = { has: (name) => listed.has(name) };
    for (const subscriber of [...this.#subscribers]) {
      if (subscriber.since < startSeq) subscriber.onResync?.(snapshot);
    }
    if (missed && this.#eventsReceived === eventsBefore && resourceVersion !== '') {
      // The stream said nothing while the collection changed under it: presumed stuck.
      this.#resourceVersion = resourceVersion;
      this.#attempt?.abort();
    }
  }

  async #list(
    signal: AbortSignal,
  ): Promise<{ items: SharedWatchEvent['object'][]; resourceVersion: string }> {
    const items: SharedWatchEvent['object'][] = [];
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const query: Record<string, string[]> = { limit: [String(resyncPageSize)] };
      if (continueToken !== undefined) query.continue = [continueToken];
      const response = await this.client.request({ method: 'GET', path: this.path, query, signal });
      const page = JSON.parse(response.body) as {
        items?: SharedWatchEvent['object'][];
        metadata?: { continue?: string; resourceVersion?: string };
      };
      for (const item of page.items ?? []) items.push(trimmed(item));
      // Every page of one paged list is consistent with the first page's version.
      if (resourceVersion === '') resourceVersion = page.metadata?.resourceVersion ?? '';
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    return { items, resourceVersion };
  }
}

const watchesByClient = new WeakMap<KubeClient, Map<string, SharedCollectionWatch>>();

/**
 * Calls `onEvent` for every ADDED/MODIFIED/DELETED event of the objects in the collection at
 * `path` (e.g. `/apis/batch/v1/namespaces/default/jobs`) that `matches` accepts, starting with the
 * latest event already seen of each. Never resolves: it ends by rejecting with the signal's reason
 * when aborted, or with the API's error when the server refuses the watch (401, 403, 404).
 * Events are shared between subscribers: treat them as read-only.
 */
export const watchCollection = (
  client: KubeClient,
  path: string,
  matches: (object: WatchedObject) => boolean,
  onEvent: (event: SharedWatchEvent) => void,
  signal: AbortSignal,
  options: WatchCollectionOptions = {},
): Promise<void> => {
  let watches = watchesByClient.get(client);
  if (!watches) {
    watches = new Map();
    watchesByClient.set(client, watches);
  }
  let watch = watches.get(path);
  if (!watch) {
    const forClient = watches;
    watch = new SharedCollectionWatch(client, path, options.clock ?? systemClock, () =>
      forClient.delete(path),
    );
    watches.set(path, watch);
  }
  return watch.subscribe(matches, onEvent, signal, options);
};
