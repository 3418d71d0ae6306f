/**
 * The seed's example state machines 04 to 09, their `Parameters` used as task input, run as one
 * lifecycle against the local control plane: create the cluster, add a Fargate profile and a node
 * group, then take them down again in reverse.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isIsoTimestamp, type LocalEks, startLocalEks } from './support/local-eks.ts';

/** Outputs are read member by member; a missing member fails the assertion that reads it. */
// biome-ignore lint/suspicious/noExplicitAny: nested task output, checked by the assertions
type SeedOutput = Record<string, any>;

const seedDirectory = new URL('../../../fixtures/seed-examples/', import.meta.url);

/** The seed example's single Task state: its native resource and its Parameters. */
function readSeedTask(file: string): { resource: string; parameters: Record<string, unknown> } {
  const machine = JSON.parse(readFileSync(new URL(file, seedDirectory), 'utf8')) as {
    StartAt: string;
    States: Record<string, { Resource: string; Parameters: Record<string, unknown> }>;
  };
  const state = machine.States[machine.StartAt];
  assert.ok(state, `${file} has no start state`);
  return { resource: state.Resource, parameters: state.Parameters };
}

/** `arn:aws:states:::eks:createCluster.sync` -> `eks-createCluster-sync`. */
const toActivitySuffix = (resource: string): string =>
  resource.replace('arn:aws:states:::eks:', 'eks-').replace('.sync', '-sync');

describe('seed examples 04 to 09', () => {
  let local: LocalEks;
  before(async () => {
    local = await startLocalEks();
  });
  after(() => local.close());

  const runSeed = (file: string) => {
    const { resource, parameters } = readSeedTask(file);
    return local.run(toActivitySuffix(resource), parameters) as Promise<SeedOutput>;
  };

  test('04 createCluster.sync outputs the ACTIVE cluster under Cluster', async () => {
    const output = await runSeed('04-create-cluster-sync.asl.json');

    assert.deepEqual(Object.keys(output), ['Cluster']);
    assert.equal(output.Cluster.Name, 'MyCluster');
    assert.equal(output.Cluster.Status, 'ACTIVE');
    assert.equal(output.Cluster.RoleArn, 'arn:aws:iam::123456789012:role/MyEKSClusterRole');
    assert.deepEqual(output.Cluster.ResourcesVpcConfig.SubnetIds, [
      'subnet-053e7c47012341234',
      'subnet-027cfea4b12341234',
    ]);
    assert.match(output.Cluster.Arn, /^arn:aws:eks:us-east-1:123456789012:cluster\/MyCluster$/);
    assert.ok(isIsoTimestamp(output.Cluster.CreatedAt));
    assert.equal(typeof output.Cluster.CertificateAuthority.Data, 'string');
    assert.equal(typeof output.Cluster.Identity?.Oidc?.Issuer, 'string');
  });

  test('06 createFargateProfile.sync outputs the ACTIVE profile under FargateProfile', async () => {
    const output = await runSeed('06-create-fargate-profile-sync.asl.json');

    assert.deepEqual(Object.keys(output), ['FargateProfile']);
    assert.equal(output.FargateProfile.FargateProfileName, 'MyFargateProfile');
    assert.equal(output.FargateProfile.ClusterName, 'MyCluster');
    assert.equal(output.FargateProfile.Status, 'ACTIVE');
    assert.deepEqual(output.FargateProfile.Selectors, [
      { Namespace: 'my-namespace', Labels: { 'my-label': 'my-value' } },
    ]);
    assert.ok(isIsoTimestamp(output.FargateProfile.CreatedAt));
  });

  test('08 createNodegroup.sync outputs the ACTIVE node group under Nodegroup', async () => {
    const output = await runSeed('08-create-nodegroup-sync.asl.json');

    assert.deepEqual(Object.keys(output), ['Nodegroup']);
    assert.equal(output.Nodegroup.NodegroupName, 'MyNodegroup');
    assert.equal(output.Nodegroup.Status, 'ACTIVE');
    assert.equal(output.Nodegroup.NodeRole, 'arn:aws:iam::123456789012:role/MyNodeInstanceRole');
    assert.deepEqual(output.Nodegroup.Subnets, ['subnet-09fb51df01234', 'subnet-027cfea4b1234']);
    assert.ok(isIsoTimestamp(output.Nodegroup.ModifiedAt));
  });

  test('09 deleteNodegroup.sync outputs the DeleteNodegroup response once the node group is gone', async () => {
    const output = await runSeed('09-delete-nodegroup-sync.asl.json');

    assert.equal(output.Nodegroup.NodegroupName, 'MyNodegroup');
    assert.equal(output.Nodegroup.Status, 'DELETING');
    await assert.rejects(
      local.eks.describeNodegroup({ clusterName: 'MyCluster', nodegroupName: 'MyNodegroup' }),
      { exceptionName: 'ResourceNotFoundException' },
    );
  });

  test('07 deleteFargateProfile.sync outputs the DeleteFargateProfile response once the profile is gone', async () => {
    const output = await runSeed('07-delete-fargate-profile-sync.asl.json');

    assert.equal(output.FargateProfile.FargateProfileName, 'MyFargateProfile');
    assert.equal(output.FargateProfile.Status, 'DELETING');
  });

  test('05 deleteCluster.sync outputs the DeleteCluster response once the cluster is gone', async () => {
    const output = await runSeed('05-delete-cluster-sync.asl.json');

    assert.equal(output.Cluster.Name, 'MyCluster');
    assert.equal(output.Cluster.Status, 'DELETING');
    await assert.rejects(local.eks.describeCluster({ name: 'MyCluster' }), {
      exceptionName: 'ResourceNotFoundException',
    });
  });
});
