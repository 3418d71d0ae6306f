import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import {
  type LocalKubeCluster,
  startLocalKubeCluster,
} from '../../../infra/local-stack/kube/cluster.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import { testClusterName, tokenFor } from './support/kube-test-env.ts';
import {
  type KubectlResult,
  kubectlPath,
  runKubectl,
  writeKubeconfig as writeSupportKubeconfig,
} from './support/kubectl.ts';
import { waitUntil } from './support/store-cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubectl-e2e-'));
let cluster: LocalKubeCluster;
let kubeconfig: string;

const writeKubeconfig = (file: string, token: string): string =>
  writeSupportKubeconfig(dir, file, cluster, token);

const kubectl = (args: string[], config = kubeconfig): Promise<KubectlResult> =>
  runKubectl(dir, config, args);

before(async () => {
  cluster = await startLocalKubeCluster({
    clusterName: testClusterName,
    podStartDelayMs: 20,
    defaultRunMs: 50,
  });
  kubeconfig = writeKubeconfig('config', await tokenFor(localIdentities.admin, cluster));
});
after(async () => {
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

const jobYaml = `apiVersion: batch/v1
kind: Job
metadata:
  name: counter
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        local.eks-activity-worker/script: '{"durationMs": 800, "log": {"lines": ["one", "two", "three", "four"]}}'
    spec:
      restartPolicy: Never
      containers:
        - name: count
          image: busybox:1.36
`;

describe('kubectl against the local cluster', () => {
  // The local API server serves no OpenAPI document, so apply runs with --validate=false.
  test('apply, get -o json, get --watch, logs --tail, delete --cascade=foreground', async () => {
    const jobFile = join(dir, 'job.yaml');
    writeFileSync(jobFile, jobYaml);

    const watcher = spawn(kubectlPath, ['--kubeconfig', kubeconfig, 'get', 'jobs', '--watch'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    });
    let watchOutput = '';
    watcher.stdout.on('data', (chunk: Buffer) => {
      watchOutput += chunk.toString();
    });
    const watcherExited = new Promise((resolve) => watcher.on('exit', resolve));
    try {
      const applied = await kubectl(['apply', '--validate=false', '-f', jobFile]);
      assert.equal(applied.stderr, '');
      assert.equal(applied.stdout.trim(), 'job.batch/counter created');

      const got = await kubectl(['get', 'job', 'counter', '-o', 'json']);
      const job = JSON.parse(got.stdout);
      assert.equal(job.kind, 'Job');
      assert.equal(job.metadata.name, 'counter');
      assert.deepEqual(job.spec.selector.matchLabels, {
        'batch.kubernetes.io/controller-uid': job.metadata.uid,
      });

      await waitUntil(
        () => cluster.store.get(builtinTypes.jobs, 'default', 'counter'),
        (j) => String(JSON.stringify(j?.status)).includes('"type":"Complete"'),
      );
      // The header, ADDED, and a MODIFIED line per status write (active, ..., Complete).
      await waitUntil(
        () => watchOutput.trimEnd().split('\n').length,
        (count) => count >= 4,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      watcher.kill();
      await watcherExited;
    }
    const lines = watchOutput.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s/);
    for (const line of lines.slice(1)) assert.match(line, /^counter\s/);
    if (/\bSTATUS\b/.test(lines[0] ?? '')) {
      // With server-side Table output kubectl shows the Job's state column.
      assert.match(lines.at(-1) ?? '', /^counter\s+Complete\s+1\/1\s/);
    }

    const logs = await kubectl(['logs', 'job/counter', '--tail=2']);
    assert.equal(logs.stdout, 'three\nfour\n');

    const deleted = await kubectl(['delete', 'job', 'counter', '--cascade=foreground']);
    assert.equal(deleted.stdout.trim(), 'job.batch "counter" deleted');
    const pods = await kubectl(['get', 'pods', '-l', 'job-name=counter', '-o', 'name']);
    assert.equal(pods.stdout, '');
    assert.deepEqual(
      cluster.store.list(
        builtinTypes.pods,
        'default',
        (p) => p.metadata.labels?.['job-name'] === 'counter',
      ).items,
      [],
    );
  });

  test('a token signed with the wrong secret is refused: You must be logged in', async () => {
    const badToken = await tokenFor(localIdentities.admin, cluster, {
      secretAccessKey: 'not-the-right-secret-0000000000000000000',
    });
    const config = writeKubeconfig('bad-config', badToken);
    const result = await kubectl(['get', 'jobs'], config);
    assert.notEqual(result.code, 0);
    // kubectl 1.33 fails in discovery first and words the 401 this way (as against EKS); older
    // versions printed `(Unauthorized)`.
    assert.match(
      result.stderr,
      /error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/,
    );
  });
});
