import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CreateClusterCommand, DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import {
  type EksControlPlane,
  outcomeTagKey,
  startEksControlPlane,
} from '../../../infra/local-stack/eks/server.ts';
import { adminCliEnv } from '../../support/local-aws.ts';
import { clusterRoleArn, makeEksClient, subnetIds } from './support/eks-client.ts';

const awsCli = '.tools/bin/aws';
const cliTimeoutMs = 30_000;

describe('the AWS CLI against the local EKS control plane', {
  skip: !existsSync(awsCli) && 'AWS CLI not installed (npm run tools)',
}, () => {
  let controlPlane: EksControlPlane;
  let eks: EKSClient;
  before(async () => {
    controlPlane = await startEksControlPlane({
      clusters: [
        { name: 'local', endpoint: 'https://127.0.0.1:6443', certificateAuthorityData: 'Q0E=' },
      ],
    });
    eks = makeEksClient(controlPlane.endpoint);
  });
  after(async () => {
    eks.destroy();
    await controlPlane.close();
  });

  const runAws = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await promisify(execFile)(
      awsCli,
      ['eks', ...args, '--endpoint-url', controlPlane.endpoint, '--output', 'json'],
      {
        timeout: cliTimeoutMs,
        env: adminCliEnv(),
      },
    );
    return stdout.trim() === '' ? undefined : JSON.parse(stdout);
  };

  /**
   * Polls with the SDK (each CLI run costs seconds). The CLI waiter describes at once and then only
   * every 30 s, so the tests let the cluster settle first and check the waiter's verdict on it.
   */
  const waitForStatus = async (name: string, status: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const current = await eks.send(new DescribeClusterCommand({ name })).then(
        (out) => out.cluster?.status,
        (error: Error) => {
          if (error.name === 'ResourceNotFoundException') return 'gone';
          throw error;
        },
      );
      if (current === status) return;
      if (Date.now() > deadline) throw new Error(`cluster ${name} never became ${status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('create-cluster answers the cluster CREATING, with ISO timestamps from epoch seconds', async () => {
    const out = (await runAws(
      'create-cluster',
      '--name',
      'cli-cluster',
      '--role-arn',
      clusterRoleArn,
      '--resources-vpc-config',
      `subnetIds=${subnetIds.join(',')}`,
    )) as { cluster: { name: string; status: string; createdAt: string; version: string } };
    assert.equal(out.cluster.name, 'cli-cluster');
    assert.equal(out.cluster.status, 'CREATING');
    assert.equal(out.cluster.version, '1.33');
    assert.match(out.cluster.createdAt, /^\d{4}-\d{2}-\d{2}T/);
  });

  test('wait cluster-active returns once the cluster is ACTIVE; describe-cluster shows the endpoint', async () => {
    await waitForStatus('cli-cluster', 'ACTIVE');
    const started = Date.now();
    await runAws('wait', 'cluster-active', '--name', 'cli-cluster');
    assert.ok(Date.now() - started < cliTimeoutMs);
    const out = (await runAws('describe-cluster', '--name', 'cli-cluster')) as {
      cluster: { endpoint: string; certificateAuthority: { data: string } };
    };
    assert.match(out.cluster.endpoint, /\.gr7\.us-east-1\.eks\.amazonaws\.com$/);
    assert.ok(out.cluster.certificateAuthority.data.length > 0);
  });

  test('wait cluster-active fails at once on a FAILED cluster', async () => {
    await eks.send(
      new CreateClusterCommand({
        name: 'cli-failed',
        roleArn: clusterRoleArn,
        resourcesVpcConfig: { subnetIds },
        tags: { [outcomeTagKey]: 'FAILED' },
      }),
    );
    await waitForStatus('cli-failed', 'FAILED');
    await assert.rejects(runAws('wait', 'cluster-active', '--name', 'cli-failed'), (error) => {
      assert.match(String((error as { stderr?: string }).stderr), /terminal failure state/);
      return true;
    });
  });

  test('list-clusters names every cluster', async () => {
    const out = (await runAws('list-clusters')) as { clusters: string[] };
    assert.deepEqual([...out.clusters].sort(), ['cli-cluster', 'cli-failed', 'local']);
  });

  test('describe-cluster of a pre-registered cluster shows its endpoint and CA', async () => {
    const out = (await runAws('describe-cluster', '--name', 'local')) as {
      cluster: { endpoint: string; certificateAuthority: { data: string } };
    };
    assert.equal(out.cluster.endpoint, 'https://127.0.0.1:6443');
    assert.equal(out.cluster.certificateAuthority.data, 'Q0E=');
  });

  test('delete-cluster answers DELETING and the cluster is then gone', async () => {
    const out = (await runAws('delete-cluster', '--name', 'cli-cluster')) as {
      cluster: { status: string };
    };
    assert.equal(out.cluster.status, 'DELETING');
    await waitForStatus('cli-cluster', 'gone');
  });

  test('describe-cluster of an unknown cluster fails with ResourceNotFoundException', async () => {
    await assert.rejects(runAws('describe-cluster', '--name', 'cli-cluster'), (error) => {
      assert.match(
        String((error as { stderr?: string }).stderr),
        /ResourceNotFoundException.*No cluster found for name: cli-cluster\./,
      );
      return true;
    });
  });
});
