import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import type { PodLogQuery } from '../../../infra/local-stack/kube/log-source.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { makeNotFoundError } from '../../../infra/local-stack/kube/status.ts';
import { requestRaw, startTestServer, tokenFor } from './support/kube-test-env.ts';

describe('pod logs route', () => {
  let server: KubeApiServer;
  let token: string;
  const queries: PodLogQuery[] = [];
  let destroyed = false;
  before(async () => {
    server = await startTestServer({
      logSource: {
        open: async (namespace, pod, query) => {
          queries.push(query);
          if (pod === 'endless') {
            // An endless log: the route must stream it and destroy it when the client leaves.
            let n = 0;
            return new Readable({
              read() {
                this.push(`line ${n++}\n`);
              },
              destroy(error, callback) {
                destroyed = true;
                callback(error);
              },
            });
          }
          if (pod !== 'p1') throw makeNotFoundError(builtinTypes.pods, pod);
          return Readable.from([`hello from ${namespace}/${pod}\n`]);
        },
      },
    });
    token = await tokenFor(localIdentities.admin, server);
  });
  after(() => server.close());

  test('streams the log as text/plain with the parsed query', async () => {
    const res = await requestRaw(
      server,
      token,
      'GET',
      '/api/v1/namespaces/default/pods/p1/log?container=main&tailLines=6&timestamps=true',
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(res.text, 'hello from default/p1\n');
    assert.deepEqual(queries.at(-1), { container: 'main', tailLines: 6, timestamps: true });
  });

  test('a non-integer tailLines is 400 BadRequest', async () => {
    const res = await requestRaw(
      server,
      token,
      'GET',
      '/api/v1/namespaces/default/pods/p1/log?tailLines=abc',
    );
    assert.equal(res.status, 400);
    assert.equal((res.json as { reason: string }).reason, 'BadRequest');
  });

  test("the log source's 404 reaches the client as a Status", async () => {
    const res = await requestRaw(server, token, 'GET', '/api/v1/namespaces/default/pods/nope/log');
    assert.equal(res.status, 404);
    assert.equal((res.json as { message: string }).message, 'pods "nope" not found');
  });

  test('a client leaving an endless log destroys the stream', async () => {
    const { request } = await import('node:https');
    await new Promise<void>((resolve, reject) => {
      const req = request(
        new URL('/api/v1/namespaces/default/pods/endless/log?follow=true', server.endpoint),
        {
          ca: server.caPem,
          headers: { Authorization: `Bearer ${token}` },
        },
      );
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    const deadline = Date.now() + 2000;
    while (!destroyed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(destroyed, true);
  });
});
