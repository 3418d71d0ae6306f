import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { requestRaw, startTestServer, tokenFor } from './support/kube-test-env.ts';
import { openWatch, within } from './support/watch-stream.ts';

const cm = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', labels },
});

describe('watch streams', () => {
  let server: KubeApiServer;
  let token: string;
  const ns = 'default';
  before(async () => {
    server = await startTestServer({ watchHistorySize: 20, bookmarkIntervalMs: 50 });
    token = await tokenFor(localIdentities.admin, server);
  });
  after(() => server.close());

  test('a watch without resourceVersion gets ADDED for current objects, then live events', async () => {
    server.store.create(builtinTypes.configmaps, cm('w-existing', { w: 'one' }));
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=w%3Done`,
    );
    try {
      await watch.waitFor(1);
      server.store.create(builtinTypes.configmaps, cm('w-new', { w: 'one' }));
      server.store.create(builtinTypes.configmaps, cm('w-other', { w: 'two' }));
      server.store.mutate(builtinTypes.configmaps, ns, 'w-new', (o) => {
        o.data = { k: 'v' };
      });
      server.store.delete(builtinTypes.configmaps, ns, 'w-new');
      const events = await watch.waitFor(4);
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [
          ['ADDED', 'w-existing'],
          ['ADDED', 'w-new'],
          ['MODIFIED', 'w-new'],
          ['DELETED', 'w-new'],
        ],
      );
      assert.equal(events[1]?.object.kind, 'ConfigMap');
    } finally {
      watch.close();
    }
  });

  test('a watch from a resourceVersion replays only the events after it', async () => {
    const first = server.store.create(builtinTypes.configmaps, cm('rv-1', { w: 'rv' }));
    server.store.create(builtinTypes.configmaps, cm('rv-2', { w: 'rv' }));
    const rv = first.metadata.resourceVersion ?? '';
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/configmaps?watch=true&labelSelector=w%3Drv&resourceVersion=${rv}`,
    );
    try {
      const events = await watch.waitFor(1);
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [['ADDED', 'rv-2']],
      );
    } finally {
      watch.close();
    }
  });

  test('a watch on one object by metadata.name sees only that object', async () => {
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/configmaps?watch=1&fieldSelector=metadata.name%3Done-obj&resourceVersion=${server.store.resourceVersion}`,
    );
    try {
      server.store.create(builtinTypes.configmaps, cm('not-this'));
      server.store.create(builtinTypes.configmaps, cm('one-obj'));
      const events = await watch.waitFor(1);
      assert.equal(events[0]?.object.metadata.name, 'one-obj');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(watch.events.length, 1);
    } finally {
      watch.close();
    }
  });

  test('allowWatchBookmarks sends BOOKMARK events with only the resourceVersion', async () => {
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/secrets?watch=1&allowWatchBookmarks=true&resourceVersion=${server.store.resourceVersion}`,
    );
    try {
      const [bookmark] = await watch.waitFor(1);
      assert.equal(bookmark?.type, 'BOOKMARK');
      assert.deepEqual(bookmark?.object, {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { resourceVersion: server.store.resourceVersion },
      });
    } finally {
      watch.close();
    }
  });

  test('timeoutSeconds ends the stream cleanly', async () => {
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/secrets?watch=1&timeoutSeconds=1`,
    );
    assert.equal(await within(watch.ended, 3000), 'end');
  });

  test('a watch from a resourceVersion older than the history gets an ERROR 410 Expired, and a fresh list resumes', async () => {
    const old = server.store.resourceVersion;
    for (let i = 0; i < 25; i++) server.store.create(builtinTypes.configmaps, cm(`flood-${i}`));
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${old}`,
    );
    const [event] = await watch.waitFor(1);
    assert.equal(event?.type, 'ERROR');
    assert.equal(event?.object.code, 410);
    assert.equal((event?.object as { reason?: string } | undefined)?.reason, 'Expired');
    assert.match(
      event?.object.message ?? '',
      new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`),
    );
    assert.equal(await within(watch.ended, 2000), 'end');

    const list = await requestRaw(server, token, 'GET', `/api/v1/namespaces/${ns}/configmaps`);
    const listRv = (list.json as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;
    const resumed = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${listRv}`,
    );
    try {
      server.store.create(builtinTypes.configmaps, cm('after-resume'));
      const [next] = await resumed.waitFor(1);
      assert.deepEqual([next?.type, next?.object.metadata.name], ['ADDED', 'after-resume']);
    } finally {
      resumed.close();
    }
  });

  test('a MODIFIED that stops matching the selector is sent as DELETED', async () => {
    server.store.create(builtinTypes.configmaps, cm('leaver', { w: 'stay' }));
    const watch = await openWatch(
      server,
      token,
      `/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=w%3Dstay`,
    );
    try {
      await watch.waitFor(1);
      server.store.mutate(builtinTypes.configmaps, ns, 'leaver', (o) => {
        o.metadata.labels = { w: 'gone' };
      });
      const events = await watch.waitFor(2);
      assert.equal(events[1]?.type, 'DELETED');
    } finally {
      watch.close();
    }
  });
});
