import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import type { KubeClient } from '../../../lib/kube/client.ts';
import {
  type SharedWatchEvent,
  type WatchCollectionOptions,
  watchCollection,
} from '../../../lib/kube/shared-watch.ts';
import { VirtualClock } from '../../support/virtual-clock.ts';
import { connectorFor, startServer } from './support/local-kube.ts';

const configMaps = '/api/v1/namespaces/default/configmaps';

const waitUntil = async (check: () => boolean, what: string, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('shared collection watch', () => {
  let server: KubeApiServer;
  let client: KubeClient;
  let noPermissionsClient: KubeClient;
  let sequence = 0;
  before(async () => {
    server = await startServer();
    const connect = (identity: (typeof localIdentities)[keyof typeof localIdentities]) =>
      connectorFor(server, identity).connector.connect(
        { clusterName: server.clusterName },
        new AbortController().signal,
      );
    client = await connect(localIdentities.admin);
    noPermissionsClient = await connect(localIdentities.noPermissions);
  });
  after(async () => {
    client.close();
    noPermissionsClient.close();
    await server.close();
  });

  const putConfigMap = (name: string, value: string) => {
    const existing = server.store.get(builtinTypes.configmaps, 'default', name);
    const object = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...(existing?.metadata ?? {}), name, namespace: 'default' },
      data: { value },
    };
    return existing
      ? server.store.update(builtinTypes.configmaps, object)
      : server.store.create(builtinTypes.configmaps, object);
  };
  const watchRequests = () =>
    Object.entries(server.requests.snapshot())
      .filter(([route]) => route.startsWith('WATCH') && route.includes('configmaps'))
      .reduce((sum, [, count]) => sum + count, 0);
  const subscribe = (
    name: string,
    signal: AbortSignal,
    events: SharedWatchEvent[],
    options: WatchCollectionOptions = {},
  ) =>
    watchCollection(
      client,
      configMaps,
      (object) => object.metadata?.name === name,
      (event) => events.push(event),
      signal,
      options,
    ).catch(() => {});
  const dataValue = (event: SharedWatchEvent | undefined) =>
    (event?.object as { data?: { value?: string } } | undefined)?.data?.value;

  test('many subscribers in one collection share one watch connection, each seeing only its objects', async () => {
    const stop = new AbortController();
    const names = [0, 1, 2, 3, 4].map(() => `shared-${++sequence}`);
    const eventsByName = names.map(() => [] as SharedWatchEvent[]);
    const before = watchRequests();
    names.forEach((name, index) => void subscribe(name, stop.signal, eventsByName[index] ?? []));

    for (const name of names) putConfigMap(name, `hello ${name}`);
    await waitUntil(() => eventsByName.every((events) => events.length > 0), 'every subscriber');
    stop.abort();

    // The server counts a watch when its stream closes.
    await waitUntil(() => watchRequests() > before, 'the watch to close');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(watchRequests() - before, 1);
    names.forEach((name, index) => {
      const events = eventsByName[index] ?? [];
      assert.ok(events.every((event) => event.object.metadata?.name === name));
      assert.equal(dataValue(events.at(-1)), `hello ${name}`);
    });
  });

  test('a subscriber that arrives after a change is given the latest state at once', async () => {
    const keepOpen = new AbortController();
    const early = `early-${++sequence}`;
    void subscribe(early, keepOpen.signal, []);
    const late = `late-${++sequence}`;
    putConfigMap(late, 'v1');
    putConfigMap(late, 'v2');
    const lateEvents: SharedWatchEvent[] = [];
    await new Promise((resolve) => setTimeout(resolve, 200));

    const lateStop = new AbortController();
    void subscribe(late, lateStop.signal, lateEvents);

    assert.equal(dataValue(lateEvents.at(-1)), 'v2', 'replayed synchronously on subscribe');
    lateStop.abort();
    keepOpen.abort();
  });

  test('a stream the server drops is resumed and later changes still arrive', async () => {
    const stop = new AbortController();
    const name = `dropped-${++sequence}`;
    const events: SharedWatchEvent[] = [];
    void subscribe(name, stop.signal, events);
    putConfigMap(name, 'before');
    await waitUntil(() => dataValue(events.at(-1)) === 'before', 'the first change');

    assert.ok(server.faults.dropWatches() >= 1);
    putConfigMap(name, 'after');

    await waitUntil(() => dataValue(events.at(-1)) === 'after', 'the change after the drop');
    stop.abort();
  });

  test('after 410 Expired the watch starts afresh and later changes still arrive', async () => {
    const stop = new AbortController();
    const name = `expired-${++sequence}`;
    const events: SharedWatchEvent[] = [];
    void subscribe(name, stop.signal, events);
    putConfigMap(name, 'one');
    await waitUntil(() => dataValue(events.at(-1)) === 'one', 'the first change');

    server.faults.expireNextWatch();
    server.faults.dropWatches();
    putConfigMap(name, 'two');

    await waitUntil(() => dataValue(events.at(-1)) === 'two', 'the change after the 410');
    stop.abort();
  });

  test('a watch the cluster forbids rejects its subscribers with EKS.403', async () => {
    await assert.rejects(
      watchCollection(
        noPermissionsClient,
        configMaps,
        () => true,
        () => {},
        AbortSignal.timeout(5_000),
      ),
      { errorName: 'EKS.403' },
    );
  });

  test('when the last subscriber leaves, the connection is closed; the next one opens a new watch', async () => {
    const before = watchRequests();
    const first = new AbortController();
    const firstName = `alone-${++sequence}`;
    const firstEvents: SharedWatchEvent[] = [];
    void subscribe(firstName, first.signal, firstEvents);
    putConfigMap(firstName, 'x');
    await waitUntil(() => firstEvents.length > 0, 'the first watch');
    first.abort();
    await waitUntil(() => watchRequests() - before === 1, 'the first watch to close');

    const second = new AbortController();
    const secondName = `again-${++sequence}`;
    const secondEvents: SharedWatchEvent[] = [];
    void subscribe(secondName, second.signal, secondEvents);
    putConfigMap(secondName, 'y');
    await waitUntil(() => secondEvents.length > 0, 'the second watch');
    second.abort();

    await waitUntil(() => watchRequests() - before === 2, 'a second watch request');
  });

  test('a watch that goes silent: the re-list delivers what it missed, for every subscriber', async () => {
    const stop = new AbortController();
    const names = [0, 1, 2].map(() => `silent-${++sequence}`);
    const eventsByName = names.map(() => [] as SharedWatchEvent[]);
    names.forEach(
      (name, index) =>
        void subscribe(name, stop.signal, eventsByName[index] ?? [], { resyncIntervalMs: 150 }),
    );
    for (const name of names) putConfigMap(name, 'seen by the watch');
    await waitUntil(
      () => eventsByName.every((events) => dataValue(events.at(-1)) === 'seen by the watch'),
      'the watch to deliver',
    );
    const unsilence = server.faults.silenceWatches();
    try {
      for (const name of names) putConfigMap(name, 'missed by the watch');
      await waitUntil(
        () => eventsByName.every((events) => dataValue(events.at(-1)) === 'missed by the watch'),
        'the re-list to deliver the change',
      );
      assert.equal(eventsByName[0]?.at(-1)?.type, 'MODIFIED');
    } finally {
      unsilence();
      stop.abort();
    }
  });

  test('without a re-list, a silent watch delivers nothing (the fault is real)', async () => {
    const stop = new AbortController();
    const name = `silent-control-${++sequence}`;
    const events: SharedWatchEvent[] = [];
    void subscribe(name, stop.signal, events);
    putConfigMap(name, 'one');
    await waitUntil(() => dataValue(events.at(-1)) === 'one', 'the watch to deliver');
    const unsilence = server.faults.silenceWatches();
    try {
      putConfigMap(name, 'two');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(dataValue(events.at(-1)), 'one');
    } finally {
      unsilence();
      stop.abort();
    }
  });

  test('an object deleted while the watch is silent is delivered as DELETED; onResync shows it gone', async () => {
    const stop = new AbortController();
    const name = `silent-delete-${++sequence}`;
    const events: SharedWatchEvent[] = [];
    const present: boolean[] = [];
    putConfigMap(name, 'here');
    void subscribe(name, stop.signal, events, {
      resyncIntervalMs: 100,
      onResync: (listed) => present.push(listed.has(name)),
    });
    await waitUntil(() => present.includes(true), 'a re-list that shows the object');
    const unsilence = server.faults.silenceWatches();
    try {
      server.store.delete(builtinTypes.configmaps, 'default', name);
      await waitUntil(() => present.at(-1) === false, 'a re-list without the object');
      assert.equal(events.at(-1)?.type, 'DELETED');
    } finally {
      unsilence();
      stop.abort();
    }
  });

  test('many subscribers cost one LIST per interval, not one each', async () => {
    // On a virtual clock: each interval is stepped through, so the count is exact.
    const clock = new VirtualClock();
    const stop = new AbortController();
    const secrets = '/api/v1/namespaces/default/secrets';
    const secretLists = () =>
      server.requests.snapshot()['GET /api/v1/namespaces/{namespace}/secrets'] ?? 0;
    const before = secretLists();
    for (let i = 0; i < 20; i += 1) {
      const name = `many-${++sequence}`;
      void watchCollection(
        client,
        secrets,
        (object) => object.metadata?.name === name,
        () => {},
        stop.signal,
        { resyncIntervalMs: 200, clock },
      ).catch(() => {});
    }
    const intervals = 5;
    for (let interval = 1; interval <= intervals; interval += 1) {
      await waitUntil(() => clock.pending === 1, 'the re-list loop to wait for its interval');
      await clock.advance(200);
      await waitUntil(() => secretLists() - before === interval, `re-list ${interval}`);
    }
    await waitUntil(() => clock.pending === 1, 'the re-list loop to wait again');
    stop.abort();
    assert.equal(secretLists() - before, intervals);
  });
});
