/**
 * In-cluster identity end to end: a worker process configured with EKS_WORKER_IN_CLUSTER_NAME
 * serves a runJob.sync task for that cluster with the pod's ServiceAccount token (a file, as the
 * kubelet projects it), while its IAM identity is one the cluster does not map at all: an EKS
 * token would get 401, so the task can only succeed as the ServiceAccount.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../infra/local-stack/identities.ts';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import {
  makeRunJobFixture,
  type RunJobFixture,
  type SpawnedWorker,
  scriptedJob,
  spawnWorker,
} from '../support/run-job-fixture.ts';

const serviceAccount = { namespace: 'eks-activity-worker', name: 'eks-activity-worker' };
const serviceAccountUser = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`;

describe('the worker in its own cluster, as its ServiceAccount', () => {
  const credentialsDir = mkdtempSync(join(tmpdir(), 'serviceaccount-'));
  let stack: LocalStack;
  let fixture: RunJobFixture;
  let worker: SpawnedWorker | undefined;

  const startWorker = (env: Record<string, string>) => {
    worker = spawnWorker(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      ...stack.awsEnvironment(),
      // An IAM identity the cluster does not map: its EKS tokens are refused with 401.
      AWS_ACCESS_KEY_ID: localIdentities.unmapped.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localIdentities.unmapped.secretAccessKey,
      EKS_WORKER_ACTIVITY_ARNS: fixture.activityArn,
      EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
      EKS_WORKER_LOG_LEVEL: 'WARN',
      ...env,
    });
    return worker;
  };

  const stopWorker = async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    worker = undefined;
  };

  before(async () => {
    stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
    fixture = await makeRunJobFixture(stack, 'in-cluster');
    const { cluster } = stack;
    cluster.serviceAccounts.grant(serviceAccount.namespace, serviceAccount.name, {
      kind: 'edit',
      namespaces: ['default'],
    });
    writeFileSync(
      join(credentialsDir, 'token'),
      cluster.serviceAccounts.issue(serviceAccount.namespace, serviceAccount.name),
    );
    writeFileSync(join(credentialsDir, 'ca.crt'), cluster.caPem);
  });

  after(async () => {
    worker?.child.kill('SIGKILL');
    fixture?.close();
    await stack?.close();
    rmSync(credentialsDir, { recursive: true, force: true });
  });

  test('without in-cluster identity the unmapped IAM role gets EKS.401 (the control)', async () => {
    startWorker({});
    try {
      const execution = await fixture.runJob(scriptedJob('as-iam-role', 100));
      assert.equal(execution.status, 'FAILED');
      assert.equal(execution.error, 'EKS.401');
    } finally {
      await stopWorker();
    }
  });

  test('a task for the worker’s own cluster is served with the ServiceAccount token, no EKS token', async () => {
    const { cluster } = stack;
    cluster.requests.reset();
    startWorker({
      EKS_WORKER_IN_CLUSTER_NAME: cluster.clusterName,
      EKS_WORKER_IN_CLUSTER_ENDPOINT: cluster.endpoint,
      EKS_WORKER_IN_CLUSTER_CREDENTIALS_DIR: credentialsDir,
    });
    try {
      const execution = await fixture.runJob(scriptedJob('as-service-account', 100));
      assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${worker?.output()}`);
      assert.equal(JSON.parse(execution.output ?? '{}').metadata.name, 'as-service-account');
    } finally {
      await stopWorker();
    }
    const users = new Set(cluster.requests.entries.map((entry) => entry.user ?? '(none)'));
    assert.deepEqual([...users], [serviceAccountUser], 'every request as the ServiceAccount');
    assert.ok(
      cluster.requests.total(/^POST \/apis\/batch\/v1\/namespaces\/\{namespace\}\/jobs$/) >= 1,
    );
  });

  test('an Endpoint the task names for that cluster still has to be trusted; the token is not sent', async () => {
    const { cluster } = stack;
    startWorker({
      EKS_WORKER_IN_CLUSTER_NAME: cluster.clusterName,
      EKS_WORKER_IN_CLUSTER_ENDPOINT: cluster.endpoint,
      EKS_WORKER_IN_CLUSTER_CREDENTIALS_DIR: credentialsDir,
    });
    try {
      const execution = await fixture.runJob(scriptedJob('elsewhere', 100), {
        endpoint: 'https://attacker.example:8443',
      });
      assert.equal(execution.status, 'FAILED');
      assert.equal(execution.error, 'EKS.EndpointNotTrusted');
    } finally {
      await stopWorker();
    }
  });
});
