import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import type { KubeObject } from '../../../infra/local-stack/kube/objects.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import {
  adminConfig,
  makeJob,
  requestRaw,
  startTestServer,
  tokenFor,
} from './support/kube-test-env.ts';

type Obj = KubeObject & { spec?: Record<string, unknown> };
const json = (value: unknown) => ({ contentType: 'application/json', text: JSON.stringify(value) });
const jobsPath = '/apis/batch/v1/namespaces/default/jobs';

describe('API server REST semantics', () => {
  let server: KubeApiServer;
  let token: string;
  let batch: k8s.BatchV1Api;
  const call = (method: string, path: string, body?: { contentType: string; text: string }) =>
    requestRaw(server, token, method, path, body);
  before(async () => {
    server = await startTestServer();
    token = await tokenFor(localIdentities.admin, server);
    batch = (await adminConfig(server)).makeApiClient(k8s.BatchV1Api);
  });
  after(() => server.close());

  test('create assigns uid, resourceVersion, creationTimestamp and generation 1', async () => {
    const job = await batch.createNamespacedJob({ namespace: 'default', body: makeJob('meta') });
    assert.match(job.metadata?.uid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert.match(job.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.match(String(job.metadata?.creationTimestamp?.toISOString()), /^\d{4}-/);
    assert.equal(job.metadata?.generation, 1);
  });

  test('Jobs get the defaults a real API server adds', async () => {
    const res = await call('POST', jobsPath, json(makeJob('defaults')));
    const job = res.json as Obj;
    const uid = job.metadata.uid;
    const spec = job.spec as Record<string, unknown>;
    assert.deepEqual(spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    assert.deepEqual((spec.template as { metadata: unknown }).metadata, {
      labels: {
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': 'defaults',
        'controller-uid': uid,
        'job-name': 'defaults',
      },
    });
    assert.equal(spec.parallelism, 1);
    assert.equal(spec.completions, 1);
    assert.equal(spec.backoffLimit, 6);
    assert.equal(spec.completionMode, 'NonIndexed');
    assert.equal(spec.suspend, false);
    assert.equal('manualSelector' in spec, false);
    assert.ok(Array.isArray(job.metadata.managedFields));
  });

  test('creating an existing name is 409 AlreadyExists', async () => {
    await call('POST', jobsPath, json(makeJob('dup')));
    const res = await call('POST', jobsPath, json(makeJob('dup')));
    assert.equal(res.status, 409);
    assert.equal((res.json as { reason: string }).reason, 'AlreadyExists');
  });

  test('generateName gives the prefix plus 5 random characters', async () => {
    const res = await call('POST', jobsPath, json(makeJob('', { generateName: 'gen-' })));
    assert.equal(res.status, 201);
    assert.match((res.json as Obj).metadata.name ?? '', /^gen-[a-z0-9]{5}$/);
  });

  test('a body namespace that differs from the path is 400 BadRequest', async () => {
    const res = await call('POST', jobsPath, json(makeJob('ns', { namespace: 'kube-system' })));
    assert.equal(res.status, 400);
    assert.equal((res.json as { reason: string }).reason, 'BadRequest');
  });

  test('get of a missing Job is 404 with the real message and details', async () => {
    const res = await call('GET', `${jobsPath}/x`);
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'jobs.batch "x" not found',
      reason: 'NotFound',
      details: { name: 'x', group: 'batch', kind: 'jobs' },
      code: 404,
    });
  });

  test('HEAD answers the status without a body', async () => {
    await call('POST', jobsPath, json(makeJob('head')));
    const found = await call('HEAD', `${jobsPath}/head`);
    const missing = await call('HEAD', `${jobsPath}/no-such`);
    assert.deepEqual([found.status, found.text, missing.status, missing.text], [200, '', 404, '']);
  });

  test('a malformed JSON body is 400 BadRequest', async () => {
    const res = await call('POST', jobsPath, { contentType: 'application/json', text: '{nope' });
    assert.equal(res.status, 400);
    assert.equal((res.json as { reason: string }).reason, 'BadRequest');
  });

  test('a body over 3 MiB is 413 RequestEntityTooLarge, and the server keeps answering', async () => {
    const text = JSON.stringify({ ...makeJob('huge'), padding: 'x'.repeat(3 * 1024 * 1024) });
    const res = await call('POST', jobsPath, { contentType: 'application/json', text });
    assert.equal(res.status, 413);
    assert.deepEqual(
      [(res.json as { reason: string }).reason, (res.json as { message: string }).message],
      ['RequestEntityTooLarge', 'Request entity too large: limit is 3145728'],
    );
    assert.equal((await call('GET', `${jobsPath}/huge`)).status, 404);
  });

  test('a YAML body is accepted', async () => {
    const yaml = `apiVersion: batch/v1
kind: Job
metadata:
  name: from-yaml
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: main
          image: busybox
`;
    const res = await call('POST', jobsPath, { contentType: 'application/yaml', text: yaml });
    assert.equal(res.status, 201);
    assert.equal((res.json as Obj).metadata.name, 'from-yaml');
  });

  test('a Job without containers is 422 Invalid with a FieldValueRequired cause', async () => {
    const body = makeJob('bad');
    body.spec.template.spec.containers = [];
    const res = await call('POST', jobsPath, json(body));
    assert.equal(res.status, 422);
    const status = res.json as { message: string; details: { causes: unknown[] } };
    assert.equal(
      status.message,
      'Job.batch "bad" is invalid: spec.template.spec.containers: Required value',
    );
    assert.deepEqual(status.details.causes, [
      {
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: 'spec.template.spec.containers',
      },
    ]);
  });

  test('a Job with restartPolicy Always is 422 FieldValueNotSupported', async () => {
    const body = makeJob('always');
    body.spec.template.spec.restartPolicy = 'Always';
    const res = await call('POST', jobsPath, json(body));
    assert.equal(res.status, 422);
    const cause = (res.json as { details: { causes: { reason: string; message: string }[] } })
      .details.causes[0];
    assert.equal(cause?.reason, 'FieldValueNotSupported');
    assert.equal(
      cause?.message,
      'Unsupported value: "Always": supported values: "OnFailure", "Never"',
    );
  });

  test('an invalid name is 422 FieldValueInvalid on metadata.name', async () => {
    const res = await call('POST', jobsPath, json(makeJob('Bad_Name')));
    assert.equal(res.status, 422);
    const cause = (res.json as { details: { causes: { reason: string; field: string }[] } }).details
      .causes[0];
    assert.deepEqual([cause?.reason, cause?.field], ['FieldValueInvalid', 'metadata.name']);
  });

  test('a container without an image is 422 on its field', async () => {
    const body = makeJob('noimage');
    body.spec.template.spec.containers = [{ name: 'main', image: '' }];
    const res = await call('POST', jobsPath, json(body));
    const causes = (res.json as { details: { causes: { field: string }[] } }).details.causes;
    assert.deepEqual(
      causes.map((c) => c.field),
      ['spec.template.spec.containers[0].image'],
    );
  });

  test('list selects by label (=, !=, in, notin, exists, !key) and field', async () => {
    const cm = (name: string, labels: Record<string, string>) =>
      call(
        'POST',
        '/api/v1/namespaces/default/configmaps',
        json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels } }),
      );
    await cm('sel-a', { app: 'a', tier: 'web' });
    await cm('sel-b', { app: 'b', tier: 'db' });
    await cm('sel-c', { app: 'c' });
    const names = async (query: string) => {
      const res = await call('GET', `/api/v1/namespaces/default/configmaps?${query}`);
      return (res.json as { items: Obj[] }).items
        .map((i) => i.metadata.name)
        .filter((n) => n?.startsWith('sel-'));
    };
    assert.deepEqual(await names('labelSelector=app%3Da'), ['sel-a']);
    assert.deepEqual(await names('labelSelector=app%3D%3Db'), ['sel-b']);
    assert.deepEqual(await names('labelSelector=app,app!%3Da'), ['sel-b', 'sel-c']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('app in (a,c)')}`), [
      'sel-a',
      'sel-c',
    ]);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('app,app notin (a)')}`), [
      'sel-b',
      'sel-c',
    ]);
    assert.deepEqual(await names('labelSelector=app,tier'), ['sel-a', 'sel-b']);
    assert.deepEqual(await names('labelSelector=app,!tier'), ['sel-c']);
    assert.deepEqual(await names('fieldSelector=metadata.name%3Dsel-b'), ['sel-b']);
    assert.deepEqual(await names('fieldSelector=metadata.name!%3Dsel-b&labelSelector=app'), [
      'sel-a',
      'sel-c',
    ]);
  });

  test('list is a typed List with a resourceVersion, across namespaces too', async () => {
    await call('POST', jobsPath, json(makeJob('listed')));
    const res = await call('GET', '/apis/batch/v1/jobs');
    const list = res.json as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion: string };
      items: Obj[];
    };
    assert.equal(list.kind, 'JobList');
    assert.equal(list.apiVersion, 'batch/v1');
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.ok(list.items.some((i) => i.metadata.name === 'listed'));
  });

  test('limit and continue page through a list without gaps or repeats', async () => {
    for (let i = 0; i < 5; i++) {
      await call(
        'POST',
        '/api/v1/namespaces/kube-public/configmaps',
        json({ metadata: { name: `page-${i}` } }),
      );
    }
    const seen: string[] = [];
    let cont = '';
    for (let pages = 0; pages < 10; pages++) {
      const res = await call(
        'GET',
        `/api/v1/namespaces/kube-public/configmaps?limit=2${cont ? `&continue=${cont}` : ''}`,
      );
      const list = res.json as { items: Obj[]; metadata: { continue?: string } };
      assert.ok(list.items.length <= 2);
      seen.push(...list.items.map((i) => i.metadata.name ?? ''));
      if (!list.metadata.continue) break;
      cont = encodeURIComponent(list.metadata.continue);
    }
    assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  test('replace with a stale resourceVersion is 409 Conflict with the real message', async () => {
    const created = (await call('POST', jobsPath, json(makeJob('replace')))).json as Obj;
    const first = { ...created, metadata: { ...created.metadata, labels: { v: '1' } } };
    assert.equal((await call('PUT', `${jobsPath}/replace`, json(first))).status, 200);
    const stale = await call(
      'PUT',
      `${jobsPath}/replace`,
      json({ ...created, metadata: { ...created.metadata, labels: { v: '2' } } }),
    );
    assert.equal(stale.status, 409);
    assert.equal(
      (stale.json as { message: string }).message,
      'Operation cannot be fulfilled on jobs.batch "replace": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  test('merge patch sets and removes fields', async () => {
    await call('POST', jobsPath, json(makeJob('merge', { labels: { a: '1', b: '2' } })));
    const res = await call('PATCH', `${jobsPath}/merge`, {
      contentType: 'application/merge-patch+json',
      text: JSON.stringify({ metadata: { labels: { a: null, c: '3' } } }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as Obj).metadata.labels, { b: '2', c: '3' });
  });

  test('JSON patch applies operations and a failing test op is 422', async () => {
    await call('POST', jobsPath, json(makeJob('jsonpatch')));
    const ok = await call('PATCH', `${jobsPath}/jsonpatch`, {
      contentType: 'application/json-patch+json',
      text: JSON.stringify([{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }]),
    });
    assert.deepEqual((ok.json as Obj).metadata.annotations, { x: 'y' });
    const failed = await call('PATCH', `${jobsPath}/jsonpatch`, {
      contentType: 'application/json-patch+json',
      text: JSON.stringify([{ op: 'test', path: '/metadata/annotations/x', value: 'z' }]),
    });
    assert.equal(failed.status, 422);
  });

  test('the status subresource changes only status, the main resource keeps it', async () => {
    await call('POST', jobsPath, json(makeJob('status')));
    const patched = await call('PATCH', `${jobsPath}/status/status`, {
      contentType: 'application/merge-patch+json',
      text: JSON.stringify({ status: { active: 1 }, metadata: { labels: { ignored: 'yes' } } }),
    });
    assert.deepEqual((patched.json as { status: unknown }).status, { active: 1 });
    assert.equal((patched.json as Obj).metadata.labels?.ignored, undefined);
    const main = await call('PATCH', `${jobsPath}/status`, {
      contentType: 'application/merge-patch+json',
      text: JSON.stringify({ status: { active: 5 } }),
    });
    assert.deepEqual((main.json as { status: unknown }).status, { active: 1 });
  });

  const makeOwnedPods = async (ownerName: string) => {
    const owner = (await call('POST', jobsPath, json(makeJob(ownerName)))).json as Obj;
    const ref = { apiVersion: 'batch/v1', kind: 'Job', name: ownerName, uid: owner.metadata.uid };
    for (const suffix of ['a', 'b']) {
      await call(
        'POST',
        '/api/v1/namespaces/default/pods',
        json({
          metadata: { name: `${ownerName}-${suffix}`, ownerReferences: [ref] },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        }),
      );
    }
  };
  const podExists = (name: string) =>
    server.store.get(builtinTypes.pods, 'default', name) !== undefined;

  test('delete with Background propagation deletes dependents', async () => {
    await makeOwnedPods('bg');
    const res = await call('DELETE', `${jobsPath}/bg?propagationPolicy=Background`);
    assert.equal(res.status, 200);
    assert.deepEqual([podExists('bg-a'), podExists('bg-b')], [false, false]);
  });

  test('delete with Foreground propagation (in the body) deletes dependents', async () => {
    await makeOwnedPods('fg');
    await call(
      'DELETE',
      `${jobsPath}/fg`,
      json({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' }),
    );
    assert.deepEqual([podExists('fg-a'), podExists('fg-b')], [false, false]);
  });

  test('a Job deleted without a policy orphans its pods (the batch/v1 default)', async () => {
    await makeOwnedPods('orph');
    await call('DELETE', `${jobsPath}/orph`);
    const pod = server.store.get(builtinTypes.pods, 'default', 'orph-a');
    assert.ok(pod);
    assert.equal(pod.metadata.ownerReferences, undefined);
  });

  test('delete of a Job answers a Success Status, of a Pod the Pod', async () => {
    await call('POST', jobsPath, json(makeJob('del')));
    const res = await call('DELETE', `${jobsPath}/del`);
    assert.deepEqual(
      [
        (res.json as { kind: string; status: string }).kind,
        (res.json as { status: string }).status,
      ],
      ['Status', 'Success'],
    );
    await call(
      'POST',
      '/api/v1/namespaces/default/pods',
      json({ metadata: { name: 'delpod' }, spec: { containers: [{ name: 'c', image: 'i' }] } }),
    );
    const pod = await call('DELETE', '/api/v1/namespaces/default/pods/delpod');
    assert.equal((pod.json as Obj).kind, 'Pod');
  });

  test('delete-collection deletes only what the selector matches', async () => {
    for (const [name, team] of [
      ['dc-1', 'x'],
      ['dc-2', 'x'],
      ['dc-3', 'y'],
    ]) {
      await call(
        'POST',
        '/api/v1/namespaces/default/configmaps',
        json({ metadata: { name, labels: { team } } }),
      );
    }
    const res = await call(
      'DELETE',
      '/api/v1/namespaces/default/configmaps?labelSelector=team%3Dx',
    );
    assert.equal(res.status, 200);
    const left = server.store
      .list(builtinTypes.configmaps, 'default')
      .items.map((i) => i.metadata.name);
    assert.deepEqual(
      left.filter((n) => n?.startsWith('dc-')),
      ['dc-3'],
    );
  });

  test('unknown group resources are stored generically as custom resources', async () => {
    const path = '/apis/example.com/v1/namespaces/default/widgets';
    const created = await call(
      'POST',
      path,
      json({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 3 },
      }),
    );
    assert.equal(created.status, 201);
    const got = await call('GET', `${path}/w1`);
    assert.deepEqual((got.json as { spec: unknown }).spec, { size: 3 });
    const discovery = await call('GET', '/apis/example.com/v1');
    assert.equal(discovery.status, 200);
  });

  test('discovery serves /version, /api, /apis and group versions', async () => {
    assert.equal(((await call('GET', '/version')).json as { major: string }).major, '1');
    assert.deepEqual(((await call('GET', '/api')).json as { versions: string[] }).versions, ['v1']);
    const groups = ((await call('GET', '/apis')).json as { groups: { name: string }[] }).groups;
    assert.ok(groups.some((g) => g.name === 'batch') && groups.some((g) => g.name === 'apps'));
    const batchList = (await call('GET', '/apis/batch/v1')).json as {
      resources: { name: string }[];
    };
    assert.ok(batchList.resources.some((r) => r.name === 'jobs/status'));
  });
});
