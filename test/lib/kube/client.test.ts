import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { type AddressInfo, connect as connectTcp, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type LocalIdentity, localIdentities } from '../../../infra/local-stack/identities.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { makeClusterCertificates } from '../../../infra/local-stack/kube/tls.ts';
import type { TaskFailedError } from '../../../lib/errors.ts';
import { type KubeWatchEvent, makeKubeClient } from '../../../lib/kube/client.ts';
import { parseRetryAfterMs } from '../../../lib/kube/http-body.ts';
import { makeCountingTokens, startServer } from './support/local-kube.ts';

const signal = () => AbortSignal.timeout(5000);
const fastRetry = { baseDelayMs: 5, maxDelayMs: 50 };

describe('makeKubeClient against the local API server', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const clientFor = (identity: LocalIdentity = localIdentities.admin, caPem = server.caPem) => {
    const { tokens, counts } = makeCountingTokens(identity);
    const client = makeKubeClient({
      clusterName: server.clusterName,
      endpoint: server.endpoint,
      caPem,
      tokens,
      retry: fastRetry,
    });
    return { client, counts };
  };

  test('a 2xx answer is returned with its status, content type and body', async () => {
    const { client } = clientFor();
    const res = await client.request({
      method: 'GET',
      path: '/api/v1/namespaces/default/configmaps',
      signal: signal(),
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.statusText, 'OK');
    assert.match(res.contentType ?? '', /application\/json/);
    assert.equal((JSON.parse(res.body) as { kind: string }).kind, 'ConfigMapList');
    client.close();
  });

  test('a non-2xx answer fails with EKS.<status> and the Status as cause', async () => {
    const { client } = clientFor();
    await assert.rejects(
      client.request({
        method: 'GET',
        path: '/api/v1/namespaces/default/configmaps/missing',
        signal: signal(),
      }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.404');
        const cause = error.failureCause as Record<string, unknown>;
        assert.equal(cause.StatusCode, 404);
        assert.equal(cause.StatusText, 'Not Found');
        assert.equal((cause.ResponseBody as { kind: string; code: number }).kind, 'Status');
        assert.equal((cause.ResponseBody as { code: number }).code, 404);
        return true;
      },
    );
    client.close();
  });

  test('a 401 is retried once with a freshly signed token', async () => {
    const { client, counts } = clientFor();
    server.faults.failNext({ status: 401, path: /^\/version$/ });
    const res = await client.request({ method: 'GET', path: '/version', signal: signal() });
    assert.equal(res.statusCode, 200);
    assert.equal(counts.invalidated, 1);
    assert.equal(counts.issued, 2);
    client.close();
  });

  test('a second 401 is reported as EKS.401', async () => {
    const { client, counts } = clientFor(localIdentities.unmapped);
    server.requests.reset();
    await assert.rejects(client.request({ method: 'GET', path: '/version', signal: signal() }), {
      errorName: 'EKS.401',
    });
    assert.equal(counts.issued, 2);
    assert.equal(server.requests.total(), 2);
    client.close();
  });

  test('a 403 is not retried', async () => {
    const { client } = clientFor(localIdentities.noPermissions);
    server.requests.reset();
    await assert.rejects(
      client.request({ method: 'GET', path: '/api/v1/namespaces/default/pods', signal: signal() }),
      { errorName: 'EKS.403' },
    );
    assert.equal(server.requests.total(), 1);
    client.close();
  });

  test('a 429 or 503 with Retry-After is retried, even for a POST', async () => {
    const { client } = clientFor();
    server.faults.failNext({ status: 429, method: 'POST', retryAfterSeconds: 0 });
    server.faults.failNext({ status: 503, method: 'POST', retryAfterSeconds: 0 });
    const res = await client.request({
      method: 'POST',
      path: '/api/v1/namespaces/default/configmaps',
      body: JSON.stringify({ metadata: { name: 'retried' }, data: { a: '1' } }),
      contentType: 'application/json',
      signal: signal(),
    });
    assert.equal(res.statusCode, 201);
    client.close();
  });

  test('gives up after the configured retries with the last status', async () => {
    const { client } = clientFor();
    server.requests.reset();
    server.faults.failNext({ status: 503, path: /^\/version$/, count: 10, retryAfterSeconds: 0 });
    await assert.rejects(client.request({ method: 'GET', path: '/version', signal: signal() }), {
      errorName: 'EKS.503',
    });
    assert.equal(server.requests.total(/\/version/), 4);
    server.faults.clear();
    client.close();
  });

  test('a reset connection is retried for a GET', async () => {
    const { client } = clientFor();
    server.faults.resetNext({ path: /^\/version$/ });
    const res = await client.request({ method: 'GET', path: '/version', signal: signal() });
    assert.equal(res.statusCode, 200);
    client.close();
  });

  test('a CA that did not sign the server fails with EKS.ConnectionFailed', async () => {
    const otherCa = (await makeClusterCertificates()).caPem;
    const { client, counts } = clientFor(localIdentities.admin, otherCa);
    await assert.rejects(
      client.request({ method: 'GET', path: '/version', signal: signal() }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.ConnectionFailed');
        const cause = error.failureCause as { Endpoint: string; Code: string; Message: string };
        assert.equal(cause.Endpoint, server.endpoint);
        assert.match(cause.Code, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/);
        assert.equal(error.retryable, false);
        return true;
      },
    );
    assert.ok(counts.issued <= 1);
    client.close();
  });

  test('a closed port fails with EKS.ConnectionFailed ECONNREFUSED', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const client = makeKubeClient({
      clusterName: server.clusterName,
      endpoint: `https://127.0.0.1:${port}`,
      caPem: server.caPem,
      tokens,
      retry: fastRetry,
    });
    await assert.rejects(
      client.request({ method: 'GET', path: '/version', signal: signal() }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.ConnectionFailed');
        assert.equal((error.failureCause as { Code: string }).Code, 'ECONNREFUSED');
        return true;
      },
    );
  });

  test('a GET that cannot connect yet is tried again, and succeeds once the server answers', async () => {
    // A port with nothing on it: refused. Shortly after, a TCP relay to the API server opens there
    // (what a restarting or overloaded API server looks like to a client).
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const target = new URL(server.endpoint);
    const relay = createServer((socket) => {
      const upstream = connectTcp(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    setTimeout(() => relay.listen(port, '127.0.0.1'), 30);
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const client = makeKubeClient({
      clusterName: server.clusterName,
      endpoint: `https://127.0.0.1:${port}`,
      caPem: server.caPem,
      tokens,
      retry: { maxRetries: 6, baseDelayMs: 100, maxDelayMs: 2_000 },
    });
    try {
      const res = await client.request({ method: 'GET', path: '/version', signal: signal() });
      assert.equal(res.statusCode, 200);
    } finally {
      client.close();
      relay.close();
    }
  });

  test('an aborted request rejects with the signal reason', async () => {
    const { client } = clientFor();
    const stopLatency = server.faults.addLatency({ path: /^\/version$/, delayMs: 2000 });
    const controller = new AbortController();
    const reason = new Error('task abandoned');
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(
      client.request({ method: 'GET', path: '/version', signal: controller.signal }),
      (error) => error === reason,
    );
    stopLatency();
    client.close();
  });

  test('watch delivers each event and resolves when the server ends the stream', async () => {
    const { client } = clientFor();
    const events: KubeWatchEvent[] = [];
    const watching = client.watch(
      '/api/v1/namespaces/default/configmaps',
      { fieldSelector: ['metadata.name=watched'], timeoutSeconds: ['1'] },
      (event) => events.push(event),
      signal(),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.request({
      method: 'POST',
      path: '/api/v1/namespaces/default/configmaps',
      body: JSON.stringify({ metadata: { name: 'watched' } }),
      signal: signal(),
    });
    await watching;
    assert.deepEqual(
      events.map((e) => [e.type, (e.object as { metadata: { name: string } }).metadata.name]),
      [['ADDED', 'watched']],
    );
    client.close();
  });

  test('watch resolves when the server drops the stream mid-way', async () => {
    const { client } = clientFor();
    const watching = client.watch(
      '/api/v1/namespaces/default/secrets',
      undefined,
      () => {},
      signal(),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(server.faults.dropWatches() >= 1);
    await watching;
    client.close();
  });

  test('watch rejects with the signal reason when aborted', async () => {
    const { client } = clientFor();
    const controller = new AbortController();
    const reason = new Error('stop watching');
    const watching = client.watch(
      '/api/v1/namespaces/default/pods',
      undefined,
      () => {},
      controller.signal,
    );
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(watching, (error) => error === reason);
    client.close();
  });
});

describe('makeKubeClient on the wire', () => {
  let echo: Server;
  let endpoint = '';
  let caPem = '';
  const seen: { url: string; authorization: string; contentType: string; body: string }[] = [];
  before(async () => {
    const certificates = await makeClusterCertificates();
    caPem = certificates.caPem;
    echo = createHttpsServer(
      { cert: certificates.serverCertPem, key: certificates.serverKeyPem },
      (req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => {
          body += chunk;
        });
        req.on('end', () => {
          seen.push({
            url: req.url ?? '',
            authorization: req.headers.authorization ?? '',
            contentType: req.headers['content-type'] ?? '',
            body,
          });
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('ok');
        });
      },
    );
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    endpoint = `https://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  after(() => {
    echo.closeAllConnections();
    echo.close();
  });

  test('sends the path with each query value repeating its key, a bearer token and the body', async () => {
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const client = makeKubeClient({ clusterName: 'echo', endpoint, caPem, tokens });
    await client.request({
      method: 'PATCH',
      path: '/api/v1/namespaces/default/pods/p',
      query: { labelSelector: ['app=a b', 'tier=web'], dryRun: ['All'] },
      body: '{"a":1}',
      contentType: 'application/merge-patch+json',
      signal: signal(),
    });
    const request = seen.at(-1);
    assert.equal(
      request?.url,
      '/api/v1/namespaces/default/pods/p?labelSelector=app%3Da%20b&labelSelector=tier%3Dweb&dryRun=All',
    );
    assert.match(request?.authorization ?? '', /^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    assert.equal(request?.contentType, 'application/merge-patch+json');
    assert.equal(request?.body, '{"a":1}');
    client.close();
  });

  test('streamText returns the body as a stream of text', async () => {
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const client = makeKubeClient({ clusterName: 'echo', endpoint, caPem, tokens });
    const stream = await client.streamText(
      '/api/v1/namespaces/default/pods/p/log',
      undefined,
      signal(),
    );
    let text = '';
    for await (const chunk of stream) text += chunk;
    assert.equal(text, 'ok');
    client.close();
  });
});

describe('parseRetryAfterMs', () => {
  test('reads delay seconds and HTTP dates', () => {
    assert.equal(parseRetryAfterMs('3'), 3000);
    assert.equal(
      parseRetryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('2015-10-21T07:28:00Z')),
      5000,
    );
    assert.equal(parseRetryAfterMs(undefined), undefined);
    assert.equal(parseRetryAfterMs('soon'), undefined);
  });
});
