import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { requestRaw, startTestServer, tokenFor } from './support/kube-test-env.ts';
import { openWatch, within } from './support/watch-stream.ts';

describe('fault injection', () => {
  let server: KubeApiServer;
  let token: string;
  const get = (path = '/api/v1/namespaces/default/configmaps') =>
    requestRaw(server, token, 'GET', path);
  before(async () => {
    server = await startTestServer();
    token = await tokenFor(localIdentities.admin, server);
  });
  after(() => server.close());

  test('added latency delays matching routes only', async () => {
    const remove = server.faults.addLatency({ method: 'GET', path: /\/configmaps$/, delayMs: 300 });
    try {
      let started = Date.now();
      await get();
      assert.ok(Date.now() - started >= 290);
      started = Date.now();
      await get('/api/v1/namespaces/default/secrets');
      assert.ok(Date.now() - started < 290);
    } finally {
      remove();
    }
  });

  test('N answers of 503 then normal service', async () => {
    server.faults.failNext({ path: /\/configmaps$/, status: 503, count: 2 });
    const statuses = [(await get()).status, (await get()).status, (await get()).status];
    assert.deepEqual(statuses, [503, 503, 200]);
  });

  test('429 carries Retry-After and a Status', async () => {
    server.faults.failNext({ status: 429, retryAfterSeconds: 7 });
    const res = await get();
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.equal((res.json as { reason: string }).reason, 'TooManyRequests');
  });

  test('a connection reset destroys the socket without an answer', async () => {
    server.faults.resetNext({ method: 'GET' });
    await assert.rejects(
      get(),
      (error: NodeJS.ErrnoException) =>
        ['ECONNRESET', 'EPIPE'].includes(error.code ?? '') || /socket hang up/.test(error.message),
    );
    assert.equal((await get()).status, 200);
  });

  test('dropWatches ends open watch streams mid-stream', async () => {
    const watch = await openWatch(server, token, '/api/v1/namespaces/default/configmaps?watch=1');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.faults.dropWatches(), 1);
    assert.equal(await within(watch.ended, 2000), 'error');
  });

  test('expireNextWatch answers the next watch with ERROR 410', async () => {
    server.faults.expireNextWatch();
    const watch = await openWatch(server, token, '/api/v1/namespaces/default/configmaps?watch=1');
    const [event] = await watch.waitFor(1);
    assert.deepEqual([event?.type, event?.object.code], ['ERROR', 410]);
    const next = await openWatch(
      server,
      token,
      '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1',
    );
    await within(next.ended, 3000);
    assert.ok(next.events.every((e) => e.type !== 'ERROR'));
  });

  test('requests are counted per route template', async () => {
    server.requests.reset();
    await get('/apis/batch/v1/namespaces/default/jobs/a');
    await get('/apis/batch/v1/namespaces/kube-system/jobs/b');
    await get('/apis/batch/v1/namespaces/default/jobs');
    const counts = server.requests.snapshot();
    assert.equal(counts['GET /apis/batch/v1/namespaces/{namespace}/jobs/{name}'], 2);
    assert.equal(counts['GET /apis/batch/v1/namespaces/{namespace}/jobs'], 1);
    assert.equal(server.requests.total(/\/jobs/), 3);
  });
});
