/**
 * Watch streams: newline-delimited JSON events over a chunked 200 answer, as the API server's
 * watch cache serves them. From resourceVersion 0/absent: synthetic ADDED events for the current
 * objects first; from a given resourceVersion: the events after it from the bounded history, or
 * an `ERROR` event with a 410 `Expired` Status when the history no longer reaches back that far.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector } from './faults.ts';
import { stringifyInt64Json } from './int64-json.ts';
import type { KubeObject } from './objects.ts';
import type { ResourceType } from './resource-types.ts';
import type { ObjectPredicate } from './selectors.ts';
import { makeFailureStatus } from './status.ts';
import type { ObjectStore } from './store.ts';
import type { StoreEvent } from './store-events.ts';
import { toTable } from './table.ts';

export interface WatchRequest {
  type: ResourceType;
  /** Undefined: all namespaces (or a cluster-scoped type). */
  namespace: string | undefined;
  predicate: ObjectPredicate;
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  /**
   * Set when the client asked for Table output (`kubectl get --watch`): each event's object is then
   * a one-row Table, as the API server sends it, so kubectl keeps printing the same columns.
   */
  table?: { version: 'v1' | 'v1beta1'; includeObject: string | null };
}

export interface WatchEnvironment {
  store: ObjectStore;
  faults: FaultInjector;
  bookmarkIntervalMs: number;
  /** Default stream lifetime when the client sets no timeoutSeconds. */
  defaultTimeoutSeconds: number;
  /** The server registers every stream so `close()` can end them. */
  track: (end: () => void) => () => void;
}

const sameType = (a: ResourceType, b: ResourceType): boolean =>
  a.group === b.group && a.resource === b.resource;

/** Serves one watch until timeout, client disconnect, a dropped-watch fault or server close. */
export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  watch: WatchRequest,
  env: WatchEnvironment,
): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
  });
  res.flushHeaders();
  const writeEvent = (type: string, object: unknown): void => {
    if (env.faults.watchesSilenced()) return;
    if (!res.writableEnded && !res.destroyed)
      res.write(`${stringifyInt64Json({ type, object })}\n`);
  };
  const { table } = watch;
  // ADDED, MODIFIED and DELETED carry the object; ERROR and BOOKMARK stay as they are.
  const writeObjectEvent = (type: string, object: KubeObject): void =>
    writeEvent(type, table === undefined ? object : toTable(watch.type, [object], table));
  const expire = (requested: string, oldest: number | string): void => {
    writeEvent(
      'ERROR',
      makeFailureStatus(410, 'Expired', `too old resource version: ${requested} (${oldest})`),
    );
    res.end();
  };

  if (env.faults.takeWatchExpiry()) {
    expire(watch.resourceVersion ?? '0', env.store.resourceVersion);
    return;
  }

  const inScope = (o: KubeObject): boolean =>
    !watch.type.namespaced ||
    watch.namespace === undefined ||
    o.metadata.namespace === watch.namespace;
  // Objects the client currently believes match: a MODIFIED that stops matching is sent as
  // DELETED, one that starts matching as ADDED (as the watch cache does).
  const visible = new Set<string>();
  let lastSentResourceVersion = 0;
  const keyOf = (o: KubeObject) => o.metadata.uid ?? `${o.metadata.namespace}/${o.metadata.name}`;

  const deliver = (event: StoreEvent): void => {
    if (!sameType(event.resource, watch.type) || !inScope(event.object)) return;
    const rv = Number(event.object.metadata.resourceVersion);
    if (rv <= lastSentResourceVersion) return;
    lastSentResourceVersion = rv;
    const key = keyOf(event.object);
    const matches = watch.predicate(event.object);
    const wasVisible = visible.has(key);
    if (event.type === 'DELETED') {
      if (matches || wasVisible) writeObjectEvent('DELETED', event.object);
      visible.delete(key);
      return;
    }
    if (matches) {
      writeObjectEvent(event.type === 'ADDED' || !wasVisible ? 'ADDED' : 'MODIFIED', event.object);
      visible.add(key);
    } else if (wasVisible) {
      writeObjectEvent('DELETED', event.object);
      visible.delete(key);
    }
  };

  const pending: StoreEvent[] = [];
  let replaying = true;
  const unsubscribe = env.store.subscribe((event) => {
    if (replaying) pending.push(event);
    else deliver(event);
  });

  const requested = watch.resourceVersion;
  if (requested === undefined || requested === '' || requested === '0') {
    const { items, resourceVersion } = env.store.list(watch.type, watch.namespace, watch.predicate);
    for (const item of items) {
      writeObjectEvent('ADDED', item);
      visible.add(keyOf(item));
    }
    lastSentResourceVersion = Number(resourceVersion);
  } else {
    const from = Number(requested);
    if (!Number.isInteger(from) || from < 0) {
      unsubscribe();
      expire(requested, env.store.oldestWatchableResourceVersion + 1);
      return;
    }
    const since = env.store.eventsSince(from);
    if (since.kind === 'expired') {
      unsubscribe();
      expire(requested, since.oldestResourceVersion);
      return;
    }
    // Objects that match now and existed before `from` are what the client already has.
    for (const item of env.store.list(watch.type, watch.namespace, watch.predicate).items) {
      if (Number(item.metadata.resourceVersion) <= from) visible.add(keyOf(item));
    }
    lastSentResourceVersion = from;
    for (const event of since.events) deliver(event);
  }
  replaying = false;
  for (const event of pending.splice(0)) deliver(event);

  const bookmarkTimer = watch.allowBookmarks
    ? setInterval(() => {
        writeEvent('BOOKMARK', {
          kind: watch.type.kind,
          apiVersion:
            watch.type.group === ''
              ? watch.type.version
              : `${watch.type.group}/${watch.type.version}`,
          metadata: { resourceVersion: env.store.resourceVersion },
        });
      }, env.bookmarkIntervalMs)
    : undefined;
  const timeoutMs = (watch.timeoutSeconds ?? env.defaultTimeoutSeconds) * 1000;
  const timeoutTimer = setTimeout(() => finish('end'), timeoutMs);

  let finished = false;
  const untrack = env.track(() => finish('end'));
  const unregisterDrop = env.faults.registerWatch(() => finish('destroy'));
  function finish(how: 'end' | 'destroy'): void {
    if (finished) return;
    finished = true;
    unsubscribe();
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    clearTimeout(timeoutTimer);
    untrack();
    unregisterDrop();
    if (how === 'destroy') {
      res.socket?.destroy();
      res.destroy();
    } else if (!res.writableEnded) res.end();
  }
  req.on('close', () => finish('end'));
  res.on('close', () => finish('end'));
}
