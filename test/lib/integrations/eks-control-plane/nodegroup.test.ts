import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidParametersError, type TaskFailedError } from '../../../../lib/errors.ts';
import {
  abortAfterFirstCall,
  failsWith,
  isAbandoned,
  type LocalEks,
  startLocalEks,
  waitUntil,
} from './support/local-eks.ts';

const clusterName = 'ng-cluster';

const nodegroupInput = (name: string, extra: Record<string, unknown> = {}) => ({
  ClusterName: clusterName,
  NodegroupName: name,
  NodeRole: 'arn:aws:iam::123456789012:role/MyNodeInstanceRole',
  Subnets: ['subnet-09fb51df01234', 'subnet-027cfea4b1234'],
  ...extra,
});

describe('node group integrations', () => {
  let local: LocalEks;
  before(async () => {
    local = await startLocalEks();
    local.localEks.registerCluster({
      name: clusterName,
      endpoint: 'https://127.0.0.1:1',
      certificateAuthorityData: Buffer.from('not a real CA').toString('base64'),
    });
  });
  after(() => local.close());

  const statusOf = (nodegroupName: string) =>
    local.eks.describeNodegroup({ clusterName, nodegroupName }).then(
      (described) => described.nodegroup?.status,
      (error: { exceptionName?: string }) => error.exceptionName,
    );

  const createActiveNodegroup = async (name: string) => {
    await local.eks.createNodegroup({
      clusterName,
      nodegroupName: name,
      nodeRole: 'arn:aws:iam::123456789012:role/MyNodeInstanceRole',
      subnets: ['subnet-1'],
    });
    await waitUntil(async () => (await statusOf(name)) === 'ACTIVE');
  };

  describe('eks:createNodegroup', () => {
    test('without .sync, outputs the CreateNodegroup response with label and taint data as given', async () => {
      const output = (await local.run(
        'eks-createNodegroup',
        nodegroupInput('plain-ng', {
          Labels: { 'node.kubernetes.io/pool': 'batch', camelKey: 'v' },
          Taints: [{ Key: 'dedicated', Value: 'batch', Effect: 'NO_SCHEDULE' }],
          ScalingConfig: { MinSize: 1, MaxSize: 3, DesiredSize: 2 },
        }),
      )) as { Nodegroup: Record<string, unknown> };

      assert.equal(output.Nodegroup.NodegroupName, 'plain-ng');
      assert.equal(output.Nodegroup.Status, 'CREATING');
      assert.deepEqual(output.Nodegroup.Labels, {
        'node.kubernetes.io/pool': 'batch',
        camelKey: 'v',
      });
      assert.deepEqual(output.Nodegroup.Taints, [
        { Key: 'dedicated', Value: 'batch', Effect: 'NO_SCHEDULE' },
      ]);
      assert.deepEqual(output.Nodegroup.ScalingConfig, { MinSize: 1, MaxSize: 3, DesiredSize: 2 });
    });

    test('with .sync, waits until ACTIVE and outputs the final DescribeNodegroup result', async () => {
      const output = (await local.run('eks-createNodegroup-sync', nodegroupInput('sync-ng'))) as {
        Nodegroup: { Status: string; Resources: { AutoScalingGroups: { Name: string }[] } };
      };

      assert.equal(output.Nodegroup.Status, 'ACTIVE');
      assert.equal(output.Nodegroup.Resources.AutoScalingGroups.length, 1);
    });

    test('with .sync, CREATE_FAILED fails with EKS.NodegroupFailed and the health issues as cause', async () => {
      const run = local.run(
        'eks-createNodegroup-sync',
        nodegroupInput('failing-ng', { Tags: { 'eks-local/outcome': 'CREATE_FAILED' } }),
      );

      await assert.rejects(run, failsWith('EKS.NodegroupFailed'));
      const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
      const cause = error.failureCause as {
        Nodegroup: {
          Status: string;
          Health: { Issues: { Code: string; ResourceIds: string[] }[] };
        };
      };
      assert.equal(cause.Nodegroup.Status, 'CREATE_FAILED');
      assert.equal(cause.Nodegroup.Health.Issues[0]?.Code, 'Ec2SubnetInvalidConfiguration');
    });

    test('creating in a cluster that does not exist fails with EKS.ResourceNotFoundException', async () => {
      await assert.rejects(
        local.run('eks-createNodegroup-sync', { ...nodegroupInput('orphan'), ClusterName: 'nope' }),
        failsWith('EKS.ResourceNotFoundException'),
      );
    });

    test('throttled calls are retried and the create still succeeds', async () => {
      local.localEks.counters.reset();
      local.localEks.faults.inject('CreateNodegroup', 'throttle', 1);
      local.localEks.faults.inject('DescribeNodegroup', 'server-error', 2);

      const output = (await local.run(
        'eks-createNodegroup-sync',
        nodegroupInput('throttled-ng'),
      )) as {
        Nodegroup: { Status: string };
      };

      assert.equal(output.Nodegroup.Status, 'ACTIVE');
      assert.equal(local.localEks.counters.get('CreateNodegroup'), 2);
      assert.equal(local.localEks.faults.pending, 0);
    });

    test('a stopped execution ends the wait and leaves the node group in place', async () => {
      local.localEks.counters.reset();
      const controller = new AbortController();
      const eks = abortAfterFirstCall(local.eks, 'describeNodegroup', controller);

      await assert.rejects(
        local.run('eks-createNodegroup-sync', nodegroupInput('abandoned-ng'), {
          eks,
          signal: controller.signal,
        }),
        isAbandoned,
      );

      assert.equal(local.localEks.counters.get('DeleteNodegroup'), 0);
      assert.ok(['CREATING', 'ACTIVE'].includes(String(await statusOf('abandoned-ng'))));
    });

    test('bad input fails with EKS.InvalidParameters before any call to EKS', async () => {
      local.localEks.counters.reset();

      await assert.rejects(
        local.run('eks-createNodegroup-sync', {
          ClusterName: clusterName,
          NodegroupName: 'bad',
          ScalingConfig: { MinSize: '1' },
          Taints: [{ Key: 'k', Colour: 'red' }],
        }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidParametersError);
          assert.deepEqual(error.problems.map((p) => p.path).sort(), [
            '$.NodeRole',
            '$.ScalingConfig.MinSize',
            '$.Subnets',
            '$.Taints[0].Colour',
          ]);
          return true;
        },
      );
      assert.equal(local.localEks.counters.total(), 0);
    });
  });

  describe('eks:deleteNodegroup', () => {
    test('without .sync, outputs the DeleteNodegroup response (status DELETING)', async () => {
      await createActiveNodegroup('plain-delete-ng');

      const output = (await local.run('eks-deleteNodegroup', {
        ClusterName: clusterName,
        NodegroupName: 'plain-delete-ng',
      })) as { Nodegroup: { Status: string } };

      assert.equal(output.Nodegroup.Status, 'DELETING');
    });

    test('with .sync, waits until the node group is gone and outputs the DeleteNodegroup response', async () => {
      await createActiveNodegroup('sync-delete-ng');

      const output = (await local.run('eks-deleteNodegroup-sync', {
        ClusterName: clusterName,
        NodegroupName: 'sync-delete-ng',
      })) as { Nodegroup: { NodegroupName: string; Status: string } };

      assert.deepEqual(
        { name: output.Nodegroup.NodegroupName, status: output.Nodegroup.Status },
        { name: 'sync-delete-ng', status: 'DELETING' },
      );
      assert.equal(await statusOf('sync-delete-ng'), 'ResourceNotFoundException');
    });

    test('with .sync, DELETE_FAILED fails with EKS.NodegroupFailed', async () => {
      await createActiveNodegroup('undeletable-ng');
      local.localEks.script({
        resource: 'nodegroup',
        clusterName,
        name: 'undeletable-ng',
        outcome: 'DELETE_FAILED',
      });

      const run = local.run('eks-deleteNodegroup-sync', {
        ClusterName: clusterName,
        NodegroupName: 'undeletable-ng',
      });

      await assert.rejects(run, failsWith('EKS.NodegroupFailed'));
      const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
      assert.equal(
        (error.failureCause as { Nodegroup: { Status: string } }).Nodegroup.Status,
        'DELETE_FAILED',
      );
    });

    test('deleting a node group that is still CREATING fails with EKS.ResourceInUseException', async () => {
      await local.run('eks-createNodegroup', nodegroupInput('busy-ng'));

      await assert.rejects(
        local.run('eks-deleteNodegroup-sync', {
          ClusterName: clusterName,
          NodegroupName: 'busy-ng',
        }),
        failsWith('EKS.ResourceInUseException'),
      );
    });

    test('throttled calls are retried and the delete still completes', async () => {
      await createActiveNodegroup('throttled-delete-ng');
      local.localEks.faults.inject('DeleteNodegroup', 'throttle', 1);
      local.localEks.faults.inject('DescribeNodegroup', 'service-unavailable', 1);

      const output = (await local.run('eks-deleteNodegroup-sync', {
        ClusterName: clusterName,
        NodegroupName: 'throttled-delete-ng',
      })) as { Nodegroup: { Status: string } };

      assert.equal(output.Nodegroup.Status, 'DELETING');
      assert.equal(local.localEks.faults.pending, 0);
    });

    test('a stopped execution ends the wait', async () => {
      await createActiveNodegroup('abandoned-delete-ng');
      const controller = new AbortController();
      const eks = abortAfterFirstCall(local.eks, 'describeNodegroup', controller);

      await assert.rejects(
        local.run(
          'eks-deleteNodegroup-sync',
          { ClusterName: clusterName, NodegroupName: 'abandoned-delete-ng' },
          { eks, signal: controller.signal },
        ),
        isAbandoned,
      );
    });

    test('bad input fails with EKS.InvalidParameters before any call to EKS', async () => {
      local.localEks.counters.reset();

      await assert.rejects(
        local.run('eks-deleteNodegroup-sync', { ClusterName: clusterName, NodegroupName: 7 }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidParametersError);
          assert.deepEqual(error.problems, [
            { path: '$.NodegroupName', message: 'must be a string, got a number' },
          ]);
          return true;
        },
      );
      assert.equal(local.localEks.counters.total(), 0);
    });
  });
});
