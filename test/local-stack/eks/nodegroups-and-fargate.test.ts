import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateClusterCommand,
  CreateFargateProfileCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteFargateProfileCommand,
  DeleteNodegroupCommand,
  DescribeFargateProfileCommand,
  DescribeNodegroupCommand,
  type EKSClient,
  type FargateProfileIssue,
  InvalidParameterException,
  InvalidRequestException,
  ListFargateProfilesCommand,
  ListNodegroupsCommand,
  ResourceInUseException,
  waitUntilFargateProfileActive,
  waitUntilFargateProfileDeleted,
  waitUntilNodegroupActive,
  waitUntilNodegroupDeleted,
} from '@aws-sdk/client-eks';
import {
  type EksControlPlane,
  outcomeTagKey,
  startEksControlPlane,
} from '../../../infra/local-stack/eks/server.ts';
import {
  assertWaiterFailed,
  clusterRoleArn,
  fastWaiter,
  makeEksClient,
  nodeRoleArn,
  podExecutionRoleArn,
  subnetIds,
} from './support/eks-client.ts';

const clusterName = 'MyCluster';
const nodegroupRequest = (nodegroupName: string) => ({
  clusterName,
  nodegroupName,
  nodeRole: nodeRoleArn,
  subnets: subnetIds,
});
const fargateRequest = (fargateProfileName: string) => ({
  clusterName,
  fargateProfileName,
  podExecutionRoleArn,
  selectors: [{ namespace: 'my-namespace', labels: { 'my-label': 'my-value' } }],
});

describe('EKS node groups and Fargate profiles', () => {
  let controlPlane: EksControlPlane;
  let eks: EKSClient;
  before(async () => {
    controlPlane = await startEksControlPlane({
      clusters: [
        { name: clusterName, endpoint: 'https://127.0.0.1:6443', certificateAuthorityData: 'Q0E=' },
      ],
    });
    eks = makeEksClient(controlPlane.endpoint);
  });
  after(async () => {
    eks.destroy();
    await controlPlane.close();
  });

  test('CreateNodegroup answers the node group CREATING with EKS defaults', async () => {
    const { nodegroup } = await eks.send(new CreateNodegroupCommand(nodegroupRequest('defaults')));
    assert.equal(nodegroup?.status, 'CREATING');
    assert.equal(nodegroup?.clusterName, clusterName);
    assert.match(
      nodegroup?.nodegroupArn ?? '',
      /^arn:aws:eks:us-east-1:123456789012:nodegroup\/MyCluster\/defaults\/[0-9a-f-]{36}$/,
    );
    assert.deepEqual(nodegroup?.scalingConfig, { minSize: 1, maxSize: 2, desiredSize: 2 });
    assert.equal(nodegroup?.capacityType, 'ON_DEMAND');
    assert.deepEqual(nodegroup?.instanceTypes, ['t3.medium']);
    assert.equal(nodegroup?.diskSize, 20);
    assert.equal(nodegroup?.amiType, 'AL2023_x86_64_STANDARD');
    assert.equal(nodegroup?.version, '1.33');
    assert.deepEqual(nodegroup?.subnets, subnetIds);
    assert.equal(nodegroup?.nodeRole, nodeRoleArn);
    assert.deepEqual(nodegroup?.labels, {});
    assert.deepEqual(nodegroup?.health, { issues: [] });
    assert.ok(nodegroup?.createdAt instanceof Date);
  });

  test('CreateNodegroup echoes labels, taints, tags and scaling it was given', async () => {
    const { nodegroup } = await eks.send(
      new CreateNodegroupCommand({
        ...nodegroupRequest('echoed'),
        scalingConfig: { minSize: 0, maxSize: 5, desiredSize: 3 },
        labels: { 'node.kubernetes.io/role': 'batch' },
        taints: [{ key: 'dedicated', value: 'batch', effect: 'NO_SCHEDULE' }],
        tags: { team: 'data' },
        capacityType: 'SPOT',
        instanceTypes: ['m5.large'],
      }),
    );
    assert.deepEqual(nodegroup?.scalingConfig, { minSize: 0, maxSize: 5, desiredSize: 3 });
    assert.deepEqual(nodegroup?.labels, { 'node.kubernetes.io/role': 'batch' });
    assert.deepEqual(nodegroup?.taints, [
      { key: 'dedicated', value: 'batch', effect: 'NO_SCHEDULE' },
    ]);
    assert.deepEqual(nodegroup?.tags, { team: 'data' });
    assert.equal(nodegroup?.capacityType, 'SPOT');
    assert.deepEqual(nodegroup?.instanceTypes, ['m5.large']);
  });

  test('a node group turns ACTIVE with an Auto Scaling group, then deletes, as the waiters see', async () => {
    await eks.send(new CreateNodegroupCommand(nodegroupRequest('lifecycle')));
    const key = { clusterName, nodegroupName: 'lifecycle' };
    await waitUntilNodegroupActive(fastWaiter(eks), key);
    const { nodegroup } = await eks.send(new DescribeNodegroupCommand(key));
    assert.equal(nodegroup?.status, 'ACTIVE');
    assert.match(nodegroup?.resources?.autoScalingGroups?.[0]?.name ?? '', /^eks-lifecycle-/);

    const deleted = await eks.send(new DeleteNodegroupCommand(key));
    assert.equal(deleted.nodegroup?.status, 'DELETING');
    await waitUntilNodegroupDeleted(fastWaiter(eks), key);
    await assert.rejects(eks.send(new DescribeNodegroupCommand(key)), {
      name: 'ResourceNotFoundException',
      message: 'No node group found for name: lifecycle.',
    });
  });

  test('ListNodegroups names the cluster node groups', async () => {
    const { nodegroups } = await eks.send(new ListNodegroupsCommand({ clusterName }));
    assert.ok(nodegroups?.includes('defaults'));
    assert.ok(nodegroups?.includes('echoed'));
  });

  test(`a node group tagged ${outcomeTagKey}=CREATE_FAILED ends CREATE_FAILED with an EC2 health issue`, async () => {
    await eks.send(
      new CreateNodegroupCommand({
        ...nodegroupRequest('bad-subnets'),
        tags: { [outcomeTagKey]: 'CREATE_FAILED' },
      }),
    );
    const key = { clusterName, nodegroupName: 'bad-subnets' };
    await assertWaiterFailed(waitUntilNodegroupActive(fastWaiter(eks), key));
    const { nodegroup } = await eks.send(new DescribeNodegroupCommand(key));
    assert.equal(nodegroup?.status, 'CREATE_FAILED');
    const issue = nodegroup?.health?.issues?.[0];
    assert.equal(issue?.code, 'Ec2SubnetInvalidConfiguration');
    assert.match(issue?.message ?? '', /does not automatically assign public IP addresses/);
    assert.deepEqual(issue?.resourceIds, subnetIds);
  });

  test('a scripted node group deletion failure ends DELETE_FAILED, which the deleted waiter reports', async () => {
    await eks.send(new CreateNodegroupCommand(nodegroupRequest('sticky')));
    const key = { clusterName, nodegroupName: 'sticky' };
    await waitUntilNodegroupActive(fastWaiter(eks), key);
    controlPlane.script({
      resource: 'nodegroup',
      clusterName,
      name: 'sticky',
      outcome: 'DELETE_FAILED',
    });
    await eks.send(new DeleteNodegroupCommand(key));
    await assertWaiterFailed(waitUntilNodegroupDeleted(fastWaiter(eks), key));
    const { nodegroup } = await eks.send(new DescribeNodegroupCommand(key));
    assert.equal(nodegroup?.status, 'DELETE_FAILED');
    assert.equal(nodegroup?.health?.issues?.[0]?.code, 'Ec2SecurityGroupDeletionFailure');
  });

  test('DeleteCluster of a cluster with node groups is refused: "Cluster has nodegroups attached"', async () => {
    await assert.rejects(eks.send(new DeleteClusterCommand({ name: clusterName })), (error) => {
      assert.ok(error instanceof ResourceInUseException);
      assert.equal(error.$metadata.httpStatusCode, 409);
      assert.equal(error.message, 'Cluster has nodegroups attached');
      return true;
    });
  });

  test('CreateNodegroup without nodeRole is an InvalidParameterException (400)', async () => {
    const { nodeRole: _omitted, ...request } = nodegroupRequest('no-role');
    await assert.rejects(eks.send(new CreateNodegroupCommand(request as never)), (error) => {
      assert.ok(error instanceof InvalidParameterException);
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.match(error.message, /nodeRole/);
      return true;
    });
  });

  test('CreateNodegroup with desiredSize above maxSize is an InvalidParameterException', async () => {
    await assert.rejects(
      eks.send(
        new CreateNodegroupCommand({
          ...nodegroupRequest('too-big'),
          scalingConfig: { minSize: 1, maxSize: 2, desiredSize: 3 },
        }),
      ),
      { name: 'InvalidParameterException' },
    );
  });

  test('CreateFargateProfile answers CREATING, echoing selectors with their labels untouched', async () => {
    const { fargateProfile } = await eks.send(
      new CreateFargateProfileCommand(fargateRequest('fp')),
    );
    assert.equal(fargateProfile?.status, 'CREATING');
    assert.match(
      fargateProfile?.fargateProfileArn ?? '',
      /^arn:aws:eks:us-east-1:123456789012:fargateprofile\/MyCluster\/fp\/[0-9a-f-]{36}$/,
    );
    assert.equal(fargateProfile?.podExecutionRoleArn, podExecutionRoleArn);
    assert.deepEqual(fargateProfile?.selectors, [
      { namespace: 'my-namespace', labels: { 'my-label': 'my-value' } },
    ]);
    assert.deepEqual(fargateProfile?.health, { issues: [] });
  });

  test('a Fargate profile turns ACTIVE, then deletes, as the waiters see', async () => {
    const key = { clusterName, fargateProfileName: 'fp' };
    await waitUntilFargateProfileActive(fastWaiter(eks), key);
    const { fargateProfileNames } = await eks.send(new ListFargateProfilesCommand({ clusterName }));
    assert.deepEqual(fargateProfileNames, ['fp']);
    const deleted = await eks.send(new DeleteFargateProfileCommand(key));
    assert.equal(deleted.fargateProfile?.status, 'DELETING');
    await waitUntilFargateProfileDeleted(fastWaiter(eks), key);
    await assert.rejects(eks.send(new DescribeFargateProfileCommand(key)), {
      name: 'ResourceNotFoundException',
      message: 'No Fargate Profile found with name: fp.',
    });
  });

  test('a Fargate profile scripted to fail creation ends CREATE_FAILED with the scripted issue', async () => {
    const issues: FargateProfileIssue[] = [
      {
        code: 'PodExecutionRoleAlreadyInUse',
        message: 'Role in use',
        resourceIds: [podExecutionRoleArn],
      },
    ];
    controlPlane.script({
      resource: 'fargateProfile',
      clusterName,
      name: 'fp-fails',
      outcome: 'CREATE_FAILED',
      issues,
    });
    await eks.send(new CreateFargateProfileCommand(fargateRequest('fp-fails')));
    const key = { clusterName, fargateProfileName: 'fp-fails' };
    await assertWaiterFailed(waitUntilFargateProfileActive(fastWaiter(eks), key));
    const { fargateProfile } = await eks.send(new DescribeFargateProfileCommand(key));
    assert.equal(fargateProfile?.status, 'CREATE_FAILED');
    assert.deepEqual(fargateProfile?.health?.issues, issues);
  });

  test('a Fargate profile tagged DELETE_FAILED ends DELETE_FAILED on delete', async () => {
    await eks.send(
      new CreateFargateProfileCommand({
        ...fargateRequest('fp-sticky'),
        tags: { [outcomeTagKey]: 'DELETE_FAILED' },
      }),
    );
    const key = { clusterName, fargateProfileName: 'fp-sticky' };
    await waitUntilFargateProfileActive(fastWaiter(eks), key);
    await eks.send(new DeleteFargateProfileCommand(key));
    await assertWaiterFailed(waitUntilFargateProfileDeleted(fastWaiter(eks), key));
    const { fargateProfile } = await eks.send(new DescribeFargateProfileCommand(key));
    assert.equal(fargateProfile?.status, 'DELETE_FAILED');
  });

  test('a node group on a cluster that is not ACTIVE is refused with InvalidRequestException', async () => {
    await eks.send(
      new CreateClusterCommand({
        name: 'still-creating',
        roleArn: clusterRoleArn,
        resourcesVpcConfig: { subnetIds },
      }),
    );
    await assert.rejects(
      eks.send(
        new CreateNodegroupCommand({ ...nodegroupRequest('early'), clusterName: 'still-creating' }),
      ),
      (error) => error instanceof InvalidRequestException,
    );
  });

  test('a node group on an unknown cluster is a ResourceNotFoundException', async () => {
    await assert.rejects(
      eks.send(new CreateNodegroupCommand({ ...nodegroupRequest('orphan'), clusterName: 'ghost' })),
      { name: 'ResourceNotFoundException', message: 'No cluster found for name: ghost.' },
    );
  });
});
