import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidParametersError, type TaskFailedError } from '../../../../lib/errors.ts';
import {
  abortAfterFirstCall,
  failsWith,
  isAbandoned,
  isIsoTimestamp,
  type LocalEks,
  startLocalEks,
} from './support/local-eks.ts';

const clusterInput = (name: string, extra: Record<string, unknown> = {}) => ({
  Name: name,
  RoleArn: 'arn:aws:iam::123456789012:role/MyEKSClusterRole',
  ResourcesVpcConfig: { SubnetIds: ['subnet-053e7c47012341234', 'subnet-027cfea4b12341234'] },
  ...extra,
});

describe('eks:createCluster', () => {
  let local: LocalEks;
  before(async () => {
    local = await startLocalEks();
  });
  after(() => local.close());

  test('without .sync, outputs the CreateCluster response in PascalCase with user tag keys untouched', async () => {
    const output = (await local.run(
      'eks-createCluster',
      clusterInput('plain-create', { Tags: { 'team/owner': 'data', lowerCase: 'kept' } }),
    )) as { Cluster: Record<string, unknown> };

    assert.equal(output.Cluster.Name, 'plain-create');
    assert.equal(output.Cluster.Status, 'CREATING');
    assert.deepEqual(output.Cluster.Tags, { 'team/owner': 'data', lowerCase: 'kept' });
    assert.deepEqual(output.Cluster.ResourcesVpcConfig, {
      ...(output.Cluster.ResourcesVpcConfig as object),
      SubnetIds: ['subnet-053e7c47012341234', 'subnet-027cfea4b12341234'],
    });
    assert.ok(isIsoTimestamp(output.Cluster.CreatedAt), String(output.Cluster.CreatedAt));
    assert.equal('name' in output.Cluster, false);
  });

  test('with .sync, waits until ACTIVE and outputs the final DescribeCluster result', async () => {
    const output = (await local.run('eks-createCluster-sync', clusterInput('sync-create'))) as {
      Cluster: Record<string, unknown>;
    };

    assert.equal(output.Cluster.Status, 'ACTIVE');
    assert.equal(output.Cluster.Name, 'sync-create');
    assert.match(String(output.Cluster.Endpoint), /^https:\/\//);
    assert.equal(typeof (output.Cluster.CertificateAuthority as { Data?: unknown }).Data, 'string');
    assert.ok(local.localEks.counters.get('DescribeCluster') >= 1);
  });

  test('with .sync, a cluster that ends FAILED fails with EKS.ClusterFailed and the last describe result as cause', async () => {
    const run = local.run(
      'eks-createCluster-sync',
      clusterInput('failing-create', { Tags: { 'eks-local/outcome': 'FAILED' } }),
    );

    await assert.rejects(run, failsWith('EKS.ClusterFailed'));
    const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
    const cause = error.failureCause as {
      Cluster: { Status: string; Health: { Issues: { Code: string }[] } };
    };
    assert.equal(cause.Cluster.Status, 'FAILED');
    assert.ok(cause.Cluster.Health.Issues.length > 0);
    assert.equal(typeof cause.Cluster.Health.Issues[0]?.Code, 'string');
  });

  test('an EKS exception fails with EKS.<ExceptionName> and a cause with Message, StatusCode and RequestId', async () => {
    await local.run('eks-createCluster', clusterInput('taken-name'));

    const run = local.run('eks-createCluster-sync', clusterInput('taken-name'));

    await assert.rejects(run, failsWith('EKS.ResourceInUseException'));
    const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
    const cause = error.failureCause as Record<string, unknown>;
    assert.match(String(cause.Message), /already exists/);
    assert.equal(cause.StatusCode, 409);
    assert.equal(typeof cause.RequestId, 'string');
    assert.notEqual(cause.RequestId, '');
  });

  test('throttled calls are retried and the create still succeeds', async () => {
    local.localEks.counters.reset();
    local.localEks.faults.inject('CreateCluster', 'throttle', 1);
    local.localEks.faults.inject('CreateCluster', 'service-unavailable', 1);
    local.localEks.faults.inject('DescribeCluster', 'server-error', 1);

    const output = (await local.run('eks-createCluster-sync', clusterInput('throttled'))) as {
      Cluster: { Status: string };
    };

    assert.equal(output.Cluster.Status, 'ACTIVE');
    assert.equal(local.localEks.counters.get('CreateCluster'), 3);
    assert.equal(local.localEks.faults.pending, 0);
  });

  test('a stopped execution ends the wait and leaves the cluster in place', async () => {
    local.localEks.counters.reset();
    const controller = new AbortController();
    const eks = abortAfterFirstCall(local.eks, 'describeCluster', controller);

    await assert.rejects(
      local.run('eks-createCluster-sync', clusterInput('abandoned-create'), {
        eks,
        signal: controller.signal,
      }),
      isAbandoned,
    );

    assert.equal(local.localEks.counters.get('DeleteCluster'), 0);
    const described = await local.eks.describeCluster({ name: 'abandoned-create' });
    assert.ok(['CREATING', 'ACTIVE'].includes(String(described.cluster?.status)));
  });

  test('bad input fails with EKS.InvalidParameters listing every problem, before any call to EKS', async () => {
    local.localEks.counters.reset();

    const run = local.run('eks-createCluster-sync', {
      RoleArn: 42,
      ResourcesVpcConfig: { SubnetIds: 'subnet-1', Unknown: true },
      name: 'camel',
      Tags: { fine: 'yes', bad: 7 },
    });

    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof InvalidParametersError);
      assert.equal(error.errorName, 'EKS.InvalidParameters');
      assert.deepEqual(error.problems.map((p) => p.path).sort(), [
        '$.Name',
        '$.ResourcesVpcConfig.SubnetIds',
        '$.ResourcesVpcConfig.Unknown',
        '$.RoleArn',
        '$.Tags["bad"]',
        '$.name',
      ]);
      return true;
    });
    assert.equal(local.localEks.counters.total(), 0);
  });
});
