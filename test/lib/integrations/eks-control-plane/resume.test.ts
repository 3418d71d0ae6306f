import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { makeEksControlPlaneIntegrations } from '../../../../lib/integrations/eks-control-plane/index.ts';
import {
  type Checkpoint,
  TaskAbortedError,
  type TaskContext,
} from '../../../../lib/integrations/types.ts';
import {
  findIntegration,
  type LocalEks,
  startLocalEks,
  testPollIntervalMs,
  withTimeout,
} from './support/local-eks.ts';

const logger = new Logger({ logLevel: 'SILENT' });

describe('control-plane .sync resume', () => {
  let local: LocalEks;
  before(async () => {
    local = await startLocalEks();
  });
  after(() => local.close());

  const integrationFor = (suffix: string) =>
    findIntegration(
      makeEksControlPlaneIntegrations({ eks: local.eks, pollIntervalMs: testPollIntervalMs }),
      suffix,
    );

  /** Runs a `.sync` task until its checkpoint, then aborts it as a stopping worker does. */
  const runUntilCheckpoint = async (suffix: string, input: unknown): Promise<Checkpoint> => {
    const controller = new AbortController();
    const checkpoints: Checkpoint[] = [];
    const context: TaskContext = {
      signal: controller.signal,
      logger,
      activityName: `test-${suffix}`,
      checkpoint: (state) => {
        checkpoints.push(state);
        controller.abort(new TaskAbortedError({ kind: 'shutdown' }));
      },
    };
    await assert.rejects(integrationFor(suffix).run(input, context), TaskAbortedError);
    const [checkpoint] = checkpoints;
    if (checkpoint === undefined) throw new Error('no checkpoint was recorded');
    return checkpoint;
  };

  const resume = (suffix: string, input: unknown, checkpoint: Checkpoint) => {
    const integration = integrationFor(suffix);
    assert.ok(integration.resume, `${suffix} is resumable`);
    return withTimeout(
      integration.resume(input, checkpoint, {
        signal: new AbortController().signal,
        logger,
        activityName: `test-${suffix}`,
      }),
      10_000,
    );
  };

  const clusterInput = (name: string) => ({
    Name: name,
    RoleArn: 'arn:aws:iam::123456789012:role/MyEKSClusterRole',
    ResourcesVpcConfig: { SubnetIds: ['subnet-a', 'subnet-b'] },
  });

  test('createCluster.sync checkpoints after the create and resumes the wait to ACTIVE', async () => {
    const checkpoint = await runUntilCheckpoint('eks-createCluster-sync', clusterInput('resumed'));
    assert.equal(checkpoint.operation, 'createCluster');
    const output = (await resume(
      'eks-createCluster-sync',
      clusterInput('resumed'),
      checkpoint,
    )) as { Cluster: { Name: string; Status: string } };
    assert.equal(output.Cluster.Name, 'resumed');
    assert.equal(output.Cluster.Status, 'ACTIVE');
  });

  test('deleteCluster.sync resumed after the cluster is gone answers with the DeleteCluster response', async () => {
    await local.run('eks-createCluster-sync', clusterInput('to-delete'));
    const checkpoint = await runUntilCheckpoint('eks-deleteCluster-sync', { Name: 'to-delete' });
    const callOutput = checkpoint.callOutput as { Cluster: { Name: string; Status: string } };
    assert.equal(callOutput.Cluster.Status, 'DELETING');
    const output = await resume('eks-deleteCluster-sync', { Name: 'to-delete' }, checkpoint);
    assert.deepEqual(output, callOutput);
  });

  test('non-.sync integrations have no resume (they finish in one call)', () => {
    assert.equal(integrationFor('eks-createCluster').resume, undefined);
  });
});
