import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { makeJob, requestRaw, startTestServer, tokenFor } from './support/kube-test-env.ts';
import { openWatch, within } from './support/watch-stream.ts';

const jobsPath = '/apis/batch/v1/namespaces/default/jobs';
/** 2^53 + 1: the first integer a double cannot hold. */
const beyondDouble = '9007199254740993';

/** A Job whose int64 fields hold `digits`, as JSON text (JSON.stringify cannot write them). */
const jobText = (name: string, digits: string): string =>
  JSON.stringify(makeJob(name)).replace(
    '"spec":{',
    `"spec":{"activeDeadlineSeconds":${digits},"ttlSecondsAfterFinished":${digits},`,
  );

describe('API server: int64 fields are kept exact, as Go decodes them', () => {
  let server: KubeApiServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    token = await tokenFor(localIdentities.admin, server);
  });
  after(() => server.close());

  test('a Job created with activeDeadlineSeconds 2^53+1 is stored and returned digit for digit', async () => {
    const created = await requestRaw(server, token, 'POST', jobsPath, {
      contentType: 'application/json',
      text: jobText('int64-create', beyondDouble),
    });
    assert.equal(created.status, 201);
    assert.match(created.text, new RegExp(`"activeDeadlineSeconds":${beyondDouble}[,}]`));

    const read = await requestRaw(server, token, 'GET', `${jobsPath}/int64-create`);
    assert.match(read.text, new RegExp(`"activeDeadlineSeconds":${beyondDouble}[,}]`));
    assert.match(read.text, new RegExp(`"ttlSecondsAfterFinished":${beyondDouble}[,}]`));
  });

  test('YAML bodies and merge patches keep them too, with watchers running', async () => {
    const watch = await openWatch(server, token, `${jobsPath}?watch=true`);
    try {
      const yaml = [
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata: {name: int64-yaml}',
        'spec:',
        `  activeDeadlineSeconds: ${beyondDouble}`,
        '  template: {spec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}}',
      ].join('\n');
      const created = await requestRaw(server, token, 'POST', jobsPath, {
        contentType: 'application/yaml',
        text: yaml,
      });
      assert.equal(created.status, 201, created.text);
      const patched = await requestRaw(server, token, 'PATCH', `${jobsPath}/int64-yaml`, {
        contentType: 'application/merge-patch+json',
        text: '{"metadata":{"labels":{"x":"y"}},"spec":{"backoffLimit":12345678901234567890}}',
      });
      assert.equal(patched.status, 200, patched.text);
      assert.match(patched.text, new RegExp(`"activeDeadlineSeconds":${beyondDouble}[,}]`));
      assert.match(patched.text, /"backoffLimit":12345678901234567890[,}]/);
      await within(watch.waitFor(2), 5000);
    } finally {
      watch.close();
    }
  });

  test('a negative int64 beyond 2^53 is refused like any negative count', async () => {
    const res = await requestRaw(server, token, 'POST', jobsPath, {
      contentType: 'application/json',
      text: jobText('int64-negative', `-${beyondDouble}`),
    });
    assert.equal(res.status, 422, res.text);
    assert.match(res.text, /spec\.activeDeadlineSeconds/);
  });
});
