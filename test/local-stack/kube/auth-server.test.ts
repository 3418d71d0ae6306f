import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { makeKubeConfig } from './support/kube-client-config.ts';
import { makeJob, requestRaw, startTestServer, tokenFor } from './support/kube-test-env.ts';

describe('API server TLS, authentication and authorization', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startTestServer({ staticAdminToken: 'debug-token' });
  });
  after(() => server.close());

  test('caData is the base64 of the CA PEM', () => {
    assert.equal(Buffer.from(server.caData, 'base64').toString('utf8'), server.caPem);
    assert.match(server.caPem, /^-----BEGIN CERTIFICATE-----/);
  });

  test('TLS verifies with the cluster CA', async () => {
    const core = makeKubeConfig(
      server,
      await tokenFor(localIdentities.admin, server),
    ).makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespace();
    assert.ok(list.items.some((n) => n.metadata?.name === 'default'));
  });

  test('TLS fails without the cluster CA', async () => {
    const kc = makeKubeConfig(server, await tokenFor(localIdentities.admin, server), {
      trustCa: false,
    });
    await assert.rejects(kc.makeApiClient(k8s.CoreV1Api).listNamespace(), (error: Error) => {
      return /certificate|self.signed|verify/i.test(`${error.message} ${String(error.cause)}`);
    });
  });

  test('a request without a token is 401 Unauthorized', async () => {
    const res = await requestRaw(server, undefined, 'GET', '/api/v1/namespaces');
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  test('a token signed for another cluster is 401', async () => {
    const token = await tokenFor(localIdentities.admin, server, { clusterName: 'elsewhere' });
    assert.equal((await requestRaw(server, token, 'GET', '/api/v1/namespaces')).status, 401);
  });

  test('a token signed with a wrong secret is 401', async () => {
    const token = await tokenFor(localIdentities.admin, server, { secretAccessKey: 'wrong' });
    assert.equal((await requestRaw(server, token, 'GET', '/api/v1/namespaces')).status, 401);
  });

  test('a valid token of an unmapped identity is 401', async () => {
    const token = await tokenFor(localIdentities.unmapped, server);
    assert.equal((await requestRaw(server, token, 'GET', '/api/v1/namespaces')).status, 401);
  });

  test('mapIdentity maps an identity at run time', async () => {
    const token = await tokenFor(localIdentities.unmapped, server);
    server.auth.mapIdentity(localIdentities.unmapped.arn, {
      username: 'late-mapped',
      groups: [],
      permission: { kind: 'cluster-admin' },
    });
    try {
      assert.equal((await requestRaw(server, token, 'GET', '/api/v1/namespaces')).status, 200);
    } finally {
      server.auth.unmapIdentity(localIdentities.unmapped.arn);
    }
  });

  test('the static admin token works only when configured', async () => {
    assert.equal((await requestRaw(server, 'debug-token', 'GET', '/api/v1/pods')).status, 200);
    assert.equal((await requestRaw(server, 'other-token', 'GET', '/api/v1/pods')).status, 401);
  });

  test('an editor creating a Job outside its namespaces gets the real 403 message', async () => {
    const token = await tokenFor(localIdentities.teamEditor, server);
    const res = await requestRaw(server, token, 'POST', '/apis/batch/v1/namespaces/default/jobs', {
      contentType: 'application/json',
      text: JSON.stringify(makeJob('x')),
    });
    assert.equal(res.status, 403);
    const status = res.json as { reason: string; message: string };
    assert.equal(status.reason, 'Forbidden');
    assert.equal(
      status.message,
      'jobs.batch is forbidden: User "team-editor" cannot create resource "jobs" in API group "batch" in the namespace "default"',
    );
  });

  test('an editor may create Jobs in its own namespace and list namespaces', async () => {
    const admin = await tokenFor(localIdentities.admin, server);
    await requestRaw(server, admin, 'POST', '/api/v1/namespaces', {
      contentType: 'application/json',
      text: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }),
    });
    const token = await tokenFor(localIdentities.teamEditor, server);
    const created = await requestRaw(
      server,
      token,
      'POST',
      '/apis/batch/v1/namespaces/team-a/jobs',
      {
        contentType: 'application/json',
        text: JSON.stringify(makeJob('mine')),
      },
    );
    assert.equal(created.status, 201);
    assert.equal((await requestRaw(server, token, 'GET', '/api/v1/namespaces')).status, 200);
    assert.equal(
      (await requestRaw(server, token, 'DELETE', '/api/v1/namespaces/team-a')).status,
      403,
    );
  });

  test('an identity with no permissions is 403 on everything but discovery', async () => {
    const token = await tokenFor(localIdentities.noPermissions, server);
    assert.equal(
      (await requestRaw(server, token, 'GET', '/api/v1/namespaces/default/pods')).status,
      403,
    );
    assert.equal((await requestRaw(server, token, 'GET', '/apis/batch/v1')).status, 200);
  });
});
