import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import {
  loopbackEndpoint,
  startLoopbackServer,
} from '../../../infra/local-stack/http/loopback-server.ts';
import { makeClusterCertificates } from '../../../infra/local-stack/kube/tls.ts';

const get = (
  url: string,
  options: { agent?: Agent; ca?: string } = {},
): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });

describe('startLoopbackServer', () => {
  it('serves plain HTTP on 127.0.0.1 at a free port', async () => {
    const server = await startLoopbackServer((_req, res) => res.end('hello'));
    try {
      assert.ok(server.port > 0);
      assert.deepEqual(server.server.address(), {
        address: '127.0.0.1',
        family: 'IPv4',
        port: server.port,
      });
      assert.deepEqual(await get(`${loopbackEndpoint(server.port)}/`), {
        status: 200,
        text: 'hello',
      });
    } finally {
      await server.close();
    }
  });

  it('serves HTTPS with the TLS options given', async () => {
    const certificates = await makeClusterCertificates();
    const server = await startLoopbackServer((_req, res) => res.end('over TLS'), {
      tls: { cert: certificates.serverCertPem, key: certificates.serverKeyPem },
    });
    try {
      assert.deepEqual(
        await get(`${loopbackEndpoint(server.port, 'https')}/`, { ca: certificates.caPem }),
        { status: 200, text: 'over TLS' },
      );
    } finally {
      await server.close();
    }
  });

  it('close ends idle keep-alive connections and requests still held, and is idempotent', async () => {
    const held: Array<() => void> = [];
    const server = await startLoopbackServer((req, res) => {
      if (req.url === '/hold') held.push(() => res.end('late'));
      else res.end('now');
    });
    const agent = new Agent({ keepAlive: true });
    try {
      // One idle keep-alive connection, one request never answered.
      assert.equal((await get(`${loopbackEndpoint(server.port)}/`, { agent })).text, 'now');
      const hold = get(`${loopbackEndpoint(server.port)}/hold`).catch((error: Error) => error);
      while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const started = Date.now();
      const closing = server.close();
      assert.equal(server.close(), closing);
      await closing;
      assert.ok(Date.now() - started < 1000, 'close waited for a client');
      assert.ok((await hold) instanceof Error, 'the held request was not ended');
    } finally {
      agent.destroy();
    }
  });
});
