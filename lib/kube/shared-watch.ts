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
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailedError } from '../errors.ts';
import type { KubeClient, KubeWatchEvent } from './client.ts';

interface WatchedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** An ADDED, MODIFIED or DELETED event of one object. */
export interface SharedWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: WatchedObject & Record<string, unknown>;
}

interface Subscriber {
  matches(object: WatchedObject): boolean;
  onEvent(event: SharedWatchEvent): void;
  fail(error: unknown): void;
}

/** Latest events remembered per collection: enough for every object a busy namespace churns. */
const maxRememberedObjects = 5_000;
/** How long the server keeps one stream open before the shared watch resumes it. */
const watchTimeoutSeconds = 300;
const maxRetryDelayMs = 5_000;

const statusOf = (error: unknown): number | undefined =>
  error instanceof TaskFailedError ? Number(error.errorName.replace(/^EKS\./, '')) : undefined;

/** 401, 403 and 404 will not change by retrying; everything else (network, 429, 5xx) may. */
const isRefusal = (error: unknown): boolean => [401, 403, 404].includes(statusOf(error) ?? 0);

class SharedCollectionWatch {
  readonly #subscribers = new Set<Subscriber>();
  /** Latest event per object name, oldest first (a Map keeps insertion order). */
  readonly #latest = new Map<string, SharedWatchEvent>();
  #resourceVersion = '';
  #stop?: AbortController;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly onIdle: () => void,
  ) {}

  subscribe(
    matches: Subscriber['matches'],
    onEvent: Subscriber['onEvent'],
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    return new Promise<void>((_resolve, reject) => {
      const subscriber: Subscriber = { matches, onEvent, fail: reject };
      this.#subscribers.add(subscriber);
      signal.addEventListener(
        'abort',
        () => {
          this.#unsubscribe(subscriber);
          reject(signal.reason);
        },
        { once: true },
      );
      for (const event of this.#latest.values()) {
        if (matches(event.object)) onEvent(event);
      }
      if (!this.#stop) void this.#run();
    });
  }

  #unsubscribe(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
    if (this.#subscribers.size === 0) {
      this.#stop?.abort();
      this.#stop = undefined;
      this.onIdle();
    }
  }

  async #run(): Promise<void> {
    const stop = new AbortController();
    this.#stop = stop;
    let failures = 0;
    while (!stop.signal.aborted) {
      const query: Record<string, string[]> = {
        allowWatchBookmarks: ['true'],
        timeoutSeconds: [String(watchTimeoutSeconds)],
      };
      if (this.#resourceVersion !== '') query.resourceVersion = [this.#resourceVersion];
      try {
        await this.client.watch(this.path, query, (event) => this.#dispatch(event), stop.signal);
        failures = 0;
      } catch (error) {
        if (stop.signal.aborted) return;
        if (statusOf(error) === 410) {
          this.#resourceVersion = '';
          continue;
        }
        if (isRefusal(error)) {
          for (const subscriber of [...this.#subscribers]) {
            this.#subscribers.delete(subscriber);
            subscriber.fail(error);
          }
          this.#stop = undefined;
          this.onIdle();
          return;
        }
        failures += 1;
        const delayMs = Math.min(maxRetryDelayMs, 100 * 2 ** (failures - 1));
        await sleep(delayMs, undefined, { signal: stop.signal }).catch(() => {});
      }
    }
  }

  #dispatch(event: KubeWatchEvent): void {
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
    const shared: SharedWatchEvent = { type: event.type, object };
    const name = object.metadata?.name ?? '';
    this.#latest.delete(name);
    this.#latest.set(name, shared);
    if (this.#latest.size > maxRememberedObjects) {
      const oldest = this.#latest.keys().next().value;
      if (oldest !== undefined) this.#latest.delete(oldest);
    }
    for (const subscriber of this.#subscribers) {
      if (subscriber.matches(object)) subscriber.onEvent(shared);
    }
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
): Promise<void> => {
  let watches = watchesByClient.get(client);
  if (!watches) {
    watches = new Map();
    watchesByClient.set(client, watches);
  }
  let watch = watches.get(path);
  if (!watch) {
    const forClient = watches;
    watch = new SharedCollectionWatch(client, path, () => forClient.delete(path));
    watches.set(path, watch);
  }
  return watch.subscribe(matches, onEvent, signal);
};
