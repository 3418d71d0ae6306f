import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidParametersError, type TaskFailedError } from '../../../../lib/errors.ts';
import {
  abortAfterFirstCall,
  failsWith,
  isAbandoned,
  type LocalEks,
  startLocalEks,
} from './support/local-eks.ts';

describe('eks:deleteCluster', () => {
  let local: LocalEks;
  before(async () => {
    local = await startLocalEks();
  });
  after(() => local.close());

  /** An ACTIVE cluster, as if created long ago. */
  const registerCluster = (name: string) =>
    local.localEks.registerCluster({
      name,
      endpoint: 'https://127.0.0.1:1',
      certificateAuthorityData: Buffer.from('not a real CA').toString('base64'),
    });

  const isGone = async (name: string) =>
    local.eks.describeCluster({ name }).then(
      () => false,
      (error: { exceptionName?: string }) => error.exceptionName === 'ResourceNotFoundException',
    );

  test('without .sync, outputs the DeleteCluster response (status DELETING)', async () => {
    registerCluster('plain-delete');

    const output = (await local.run('eks-deleteCluster', { Name: 'plain-delete' })) as {
      Cluster: { Name: string; Status: string };
    };

    assert.equal(output.Cluster.Name, 'plain-delete');
    assert.equal(output.Cluster.Status, 'DELETING');
  });

  test('with .sync, waits until DescribeCluster says not found and outputs the DeleteCluster response', async () => {
    registerCluster('sync-delete');

    const output = (await local.run('eks-deleteCluster-sync', { Name: 'sync-delete' })) as {
      Cluster: { Name: string; Status: string };
    };

    assert.equal(output.Cluster.Status, 'DELETING');
    assert.equal(output.Cluster.Name, 'sync-delete');
    assert.equal(await isGone('sync-delete'), true);
  });

  test('with .sync, a deletion that fails back to ACTIVE fails with EKS.ClusterFailed and the health issues', async () => {
    registerCluster('undeletable');
    local.localEks.script({ resource: 'cluster', name: 'undeletable', outcome: 'DELETE_FAILED' });

    const run = local.run('eks-deleteCluster-sync', { Name: 'undeletable' });

    await assert.rejects(run, failsWith('EKS.ClusterFailed'));
    const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
    const cause = error.failureCause as {
      Cluster: { Status: string; Health: { Issues: unknown[] } };
    };
    assert.equal(cause.Cluster.Status, 'ACTIVE');
    assert.ok(cause.Cluster.Health.Issues.length > 0);
  });

  test('deleting a cluster that does not exist fails with EKS.ResourceNotFoundException', async () => {
    const run = local.run('eks-deleteCluster-sync', { Name: 'never-existed' });

    await assert.rejects(run, failsWith('EKS.ResourceNotFoundException'));
    const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
    assert.equal((error.failureCause as { StatusCode: number }).StatusCode, 404);
  });

  test('throttled delete and describe calls are retried and the delete still completes', async () => {
    registerCluster('throttled-delete');
    local.localEks.counters.reset();
    local.localEks.faults.inject('DeleteCluster', 'throttle', 1);
    local.localEks.faults.inject('DescribeCluster', 'throttle', 1);

    const output = (await local.run('eks-deleteCluster-sync', { Name: 'throttled-delete' })) as {
      Cluster: { Status: string };
    };

    assert.equal(output.Cluster.Status, 'DELETING');
    assert.equal(local.localEks.counters.get('DeleteCluster'), 2);
    assert.equal(local.localEks.faults.pending, 0);
  });

  test('a stopped execution ends the wait without recreating or touching the cluster again', async () => {
    registerCluster('abandoned-delete');
    local.localEks.counters.reset();
    const controller = new AbortController();
    const eks = abortAfterFirstCall(local.eks, 'describeCluster', controller);

    await assert.rejects(
      local.run(
        'eks-deleteCluster-sync',
        { Name: 'abandoned-delete' },
        {
          eks,
          signal: controller.signal,
        },
      ),
      isAbandoned,
    );

    assert.equal(local.localEks.counters.get('DeleteCluster'), 1);
    assert.equal(local.localEks.counters.get('DescribeCluster'), 1);
  });

  test('bad input fails with EKS.InvalidParameters before any call to EKS', async () => {
    local.localEks.counters.reset();

    await assert.rejects(
      local.run('eks-deleteCluster-sync', { Name: '', Force: true }),
      (error) => {
        assert.ok(error instanceof InvalidParametersError);
        assert.deepEqual(error.problems.map((p) => p.path).sort(), ['$.Force', '$.Name']);
        return true;
      },
    );
    await assert.rejects(local.run('eks-deleteCluster', 'MyCluster'), (error) => {
      assert.ok(error instanceof InvalidParametersError);
      assert.deepEqual(error.problems, [{ path: '$', message: 'must be an object, got a string' }]);
      return true;
    });
    assert.equal(local.localEks.counters.total(), 0);
  });
});
