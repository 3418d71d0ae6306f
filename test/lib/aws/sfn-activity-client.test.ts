/**
 * The Step Functions client's own timeouts: a request the server never answers must fail, so the
 * worker's retries (heartbeats, answers) get their turn instead of waiting forever.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makeSfnActivityApi, makeSfnClient } from '../../../lib/aws/sfn-activity-client.ts';

describe('makeSfnClient', () => {
  let server: Server;
  let endpoint: string;
  before(async () => {
    // Reads the request and never answers, as a dead connection behind a load balancer would.
    server = createServer((req) => req.resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a heartbeat the server never answers fails after the request timeout', async () => {
    const client = makeSfnClient({
      maxSockets: 2,
      requestTimeoutMs: 300,
      clientConfig: {
        region: 'us-east-1',
        endpoint,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      },
    });
    const api = makeSfnActivityApi(client);
    const startedAt = Date.now();
    try {
      await assert.rejects(api.sendTaskHeartbeat({ taskToken: 't'.repeat(40) }), /timeout|300 ms/i);
    } finally {
      client.destroy();
    }
    const elapsedMs = Date.now() - startedAt;
    assert.ok(elapsedMs >= 250 && elapsedMs < 5_000, `failed after ${elapsedMs} ms`);
  });
});
