import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ClusterIssue,
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClusterCommand,
  type EKSClient,
  InvalidRequestException,
  paginateListClusters,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilClusterActive,
  waitUntilClusterDeleted,
} from '@aws-sdk/client-eks';
import {
  type EksControlPlane,
  outcomeTagKey,
  type ProvisionedCluster,
  startEksControlPlane,
} from '../../../infra/local-stack/eks/server.ts';
import {
  assertWaiterFailed,
  clusterRoleArn,
  fastWaiter,
  makeEksClient,
  subnetIds,
} from './support/eks-client.ts';

const createRequest = (name: string) => ({
  name,
  roleArn: clusterRoleArn,
  resourcesVpcConfig: { subnetIds },
});

describe('EKS clusters', () => {
  let controlPlane: EksControlPlane;
  let eks: EKSClient;
  before(async () => {
    controlPlane = await startEksControlPlane({
      clusters: [
        {
          name: 'local',
          endpoint: 'https://127.0.0.1:6443',
          certificateAuthorityData: 'TG9jYWwgQ0E=',
          version: '1.33',
        },
      ],
    });
    eks = makeEksClient(controlPlane.endpoint);
  });
  after(async () => {
    eks.destroy();
    await controlPlane.close();
  });

  test('CreateCluster answers the cluster CREATING, with EKS defaults and no endpoint yet', async () => {
    const before = Date.now();
    const { cluster } = await eks.send(new CreateClusterCommand(createRequest('defaults')));
    assert.ok(cluster);
    assert.equal(cluster.name, 'defaults');
    assert.equal(cluster.arn, 'arn:aws:eks:us-east-1:123456789012:cluster/defaults');
    assert.equal(cluster.status, 'CREATING');
    assert.equal(cluster.version, '1.33');
    assert.equal(cluster.platformVersion, 'eks.1');
    assert.equal(cluster.roleArn, clusterRoleArn);
    assert.equal(cluster.endpoint, undefined);
    assert.equal(cluster.certificateAuthority?.data, undefined);
    assert.deepEqual(cluster.resourcesVpcConfig?.subnetIds, subnetIds);
    assert.equal(cluster.resourcesVpcConfig?.endpointPublicAccess, true);
    assert.equal(cluster.resourcesVpcConfig?.endpointPrivateAccess, false);
    assert.equal(cluster.kubernetesNetworkConfig?.serviceIpv4Cidr, '10.100.0.0/16');
    assert.equal(cluster.kubernetesNetworkConfig?.ipFamily, 'ipv4');
    assert.deepEqual(cluster.accessConfig, {
      bootstrapClusterCreatorAdminPermissions: true,
      authenticationMode: 'CONFIG_MAP',
    });
    assert.deepEqual(cluster.upgradePolicy, { supportType: 'EXTENDED' });
    assert.deepEqual(cluster.health, { issues: [] });
    assert.deepEqual(cluster.tags, {});
    assert.match(cluster.clientRequestToken ?? '', /^[0-9a-f-]{36}$/, 'the SDK token is echoed');
    assert.ok(cluster.createdAt instanceof Date, 'createdAt travels as epoch seconds');
    assert.ok(Math.abs(cluster.createdAt.getTime() - before) < 5000);
  });

  test('CreateCluster echoes the optional members it was given', async () => {
    const { cluster } = await eks.send(
      new CreateClusterCommand({
        ...createRequest('echoed'),
        version: '1.31',
        kubernetesNetworkConfig: { serviceIpv4Cidr: '172.20.0.0/16' },
        accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
        upgradePolicy: { supportType: 'STANDARD' },
        logging: { clusterLogging: [{ types: ['api', 'audit'], enabled: true }] },
        encryptionConfig: [
          {
            resources: ['secrets'],
            provider: { keyArn: 'arn:aws:kms:us-east-1:123456789012:key/k' },
          },
        ],
        computeConfig: { enabled: true, nodePools: ['general-purpose'] },
        tags: { team: 'data', 'k8s.io/Name': 'x' },
      }),
    );
    assert.equal(cluster?.version, '1.31');
    assert.equal(cluster?.kubernetesNetworkConfig?.serviceIpv4Cidr, '172.20.0.0/16');
    assert.deepEqual(cluster?.accessConfig, {
      bootstrapClusterCreatorAdminPermissions: false,
      authenticationMode: 'API',
    });
    assert.deepEqual(cluster?.upgradePolicy, { supportType: 'STANDARD' });
    assert.deepEqual(cluster?.logging, {
      clusterLogging: [{ types: ['api', 'audit'], enabled: true }],
    });
    assert.equal(
      cluster?.encryptionConfig?.[0]?.provider?.keyArn,
      'arn:aws:kms:us-east-1:123456789012:key/k',
    );
    assert.deepEqual(cluster?.computeConfig, { enabled: true, nodePools: ['general-purpose'] });
    assert.deepEqual(cluster?.tags, { team: 'data', 'k8s.io/Name': 'x' });
  });

  test('a created cluster turns ACTIVE with an endpoint and a CA, as waitUntilClusterActive sees', async () => {
    await eks.send(new CreateClusterCommand(createRequest('to-activate')));
    const described = await eks.send(new DescribeClusterCommand({ name: 'to-activate' }));
    assert.equal(described.cluster?.status, 'CREATING');

    const { reason } = await waitUntilClusterActive(fastWaiter(eks), { name: 'to-activate' });
    const cluster = (reason as { cluster?: { status?: string; endpoint?: string } }).cluster;
    assert.equal(cluster?.status, 'ACTIVE');
    assert.match(
      cluster?.endpoint ?? '',
      /^https:\/\/[0-9A-F]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com$/,
    );
    const after = await eks.send(new DescribeClusterCommand({ name: 'to-activate' }));
    const pem = Buffer.from(after.cluster?.certificateAuthority?.data ?? '', 'base64').toString();
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
  });

  test('DeleteCluster answers DELETING, then the cluster is gone, as waitUntilClusterDeleted sees', async () => {
    await eks.send(new CreateClusterCommand(createRequest('to-delete')));
    await waitUntilClusterActive(fastWaiter(eks), { name: 'to-delete' });

    const { cluster } = await eks.send(new DeleteClusterCommand({ name: 'to-delete' }));
    assert.equal(cluster?.status, 'DELETING');
    await waitUntilClusterDeleted(fastWaiter(eks), { name: 'to-delete' });
    await assert.rejects(eks.send(new DescribeClusterCommand({ name: 'to-delete' })), {
      name: 'ResourceNotFoundException',
      message: 'No cluster found for name: to-delete.',
    });
  });

  test('ListClusters pages through every cluster with maxResults and nextToken', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) {
      await eks.send(new CreateClusterCommand(createRequest(name)));
    }
    const pages: string[][] = [];
    for await (const page of paginateListClusters({ client: eks, pageSize: 2 }, {})) {
      pages.push(page.clusters ?? []);
    }
    assert.ok(pages.length >= 2, 'more than one page');
    assert.ok(pages.every((p) => p.length <= 2));
    const names = pages.flat();
    assert.equal(new Set(names).size, names.length, 'no name is listed twice');
    for (const name of ['local', 'page-a', 'page-b', 'page-c']) assert.ok(names.includes(name));
  });

  test('CreateCluster repeated with the same clientRequestToken answers the same cluster', async () => {
    const request = { ...createRequest('idempotent'), clientRequestToken: 'token-1' };
    const first = await eks.send(new CreateClusterCommand(request));
    const second = await eks.send(new CreateClusterCommand(request));
    assert.equal(second.cluster?.arn, first.cluster?.arn);
    assert.equal(second.cluster?.clientRequestToken, 'token-1');
  });

  test('CreateCluster for a name in use is refused with ResourceInUseException (409)', async () => {
    await assert.rejects(eks.send(new CreateClusterCommand(createRequest('local'))), (error) => {
      assert.ok(error instanceof ResourceInUseException);
      assert.equal(error.$metadata.httpStatusCode, 409);
      assert.equal(error.message, 'Cluster already exists with name: local');
      assert.equal(error.clusterName, 'local');
      return true;
    });
  });

  test('DescribeCluster of an unknown cluster is a ResourceNotFoundException (404)', async () => {
    await assert.rejects(eks.send(new DescribeClusterCommand({ name: 'nope' })), (error) => {
      assert.ok(error instanceof ResourceNotFoundException);
      assert.equal(error.$metadata.httpStatusCode, 404);
      assert.equal(error.message, 'No cluster found for name: nope.');
      assert.ok(error.$metadata.requestId, 'x-amzn-RequestId is read into $metadata');
      return true;
    });
  });

  test('a pre-registered cluster is ACTIVE with the endpoint and CA it was given', async () => {
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'local' }));
    assert.equal(cluster?.status, 'ACTIVE');
    assert.equal(cluster?.endpoint, 'https://127.0.0.1:6443');
    assert.equal(cluster?.certificateAuthority?.data, 'TG9jYWwgQ0E=');
    assert.equal(cluster?.version, '1.33');
  });

  test('a cluster registered after start is described the same way', async () => {
    controlPlane.registerCluster({
      name: 'late',
      endpoint: 'https://127.0.0.1:7443',
      certificateAuthorityData: 'TGF0ZQ==',
    });
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'late' }));
    assert.equal(cluster?.status, 'ACTIVE');
    assert.equal(cluster?.endpoint, 'https://127.0.0.1:7443');
    assert.equal(cluster?.certificateAuthority?.data, 'TGF0ZQ==');
  });

  test(`a cluster tagged ${outcomeTagKey}=FAILED ends FAILED with a health issue`, async () => {
    await eks.send(
      new CreateClusterCommand({
        ...createRequest('tag-failed'),
        tags: { [outcomeTagKey]: 'FAILED' },
      }),
    );
    await assertWaiterFailed(waitUntilClusterActive(fastWaiter(eks), { name: 'tag-failed' }));
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'tag-failed' }));
    assert.equal(cluster?.status, 'FAILED');
    assert.equal(cluster?.endpoint, undefined);
    assert.deepEqual(cluster?.health?.issues, [
      {
        code: 'Ec2SubnetNotFound',
        message: `The subnet ID '${subnetIds[0]}' does not exist`,
        resourceIds: [subnetIds[0]],
      },
    ]);
  });

  test('a scripted cluster creation failure carries the scripted health issues', async () => {
    const issues: ClusterIssue[] = [
      { code: 'IamRoleNotFound', message: 'Role not found', resourceIds: [clusterRoleArn] },
    ];
    controlPlane.script({ resource: 'cluster', name: 'script-failed', outcome: 'FAILED', issues });
    await eks.send(new CreateClusterCommand(createRequest('script-failed')));
    await assertWaiterFailed(waitUntilClusterActive(fastWaiter(eks), { name: 'script-failed' }));
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'script-failed' }));
    assert.deepEqual(cluster?.health?.issues, issues);
  });

  test('a cluster whose deletion fails comes back ACTIVE, which waitUntilClusterDeleted reports as failure', async () => {
    await eks.send(
      new CreateClusterCommand({
        ...createRequest('delete-fails'),
        tags: { [outcomeTagKey]: 'DELETE_FAILED' },
      }),
    );
    await waitUntilClusterActive(fastWaiter(eks), { name: 'delete-fails' });
    await eks.send(new DeleteClusterCommand({ name: 'delete-fails' }));
    await assertWaiterFailed(waitUntilClusterDeleted(fastWaiter(eks), { name: 'delete-fails' }));
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'delete-fails' }));
    assert.equal(cluster?.status, 'ACTIVE');
    assert.equal(cluster?.health?.issues?.length, 1);

    // One-shot: the next deletion goes through.
    await eks.send(new DeleteClusterCommand({ name: 'delete-fails' }));
    await waitUntilClusterDeleted(fastWaiter(eks), { name: 'delete-fails' });
  });

  test('DeleteCluster of a cluster with deletion protection is refused with InvalidRequestException', async () => {
    await eks.send(
      new CreateClusterCommand({ ...createRequest('protected'), deletionProtection: true }),
    );
    await waitUntilClusterActive(fastWaiter(eks), { name: 'protected' });
    await assert.rejects(eks.send(new DeleteClusterCommand({ name: 'protected' })), (error) => {
      assert.ok(error instanceof InvalidRequestException);
      assert.equal(error.$metadata.httpStatusCode, 400);
      return true;
    });
  });
});

describe('EKS clusters with a provisioning hook', () => {
  const provisioned: string[] = [];
  const closed: string[] = [];
  let controlPlane: EksControlPlane;
  let eks: EKSClient;
  before(async () => {
    controlPlane = await startEksControlPlane({
      timings: { clusterCreatingMs: 50, clusterDeletingMs: 50 },
      provisionCluster: async (name): Promise<ProvisionedCluster> => {
        if (name === 'unprovisionable') throw new Error('no port left');
        provisioned.push(name);
        return {
          endpoint: `https://127.0.0.1:${9000 + provisioned.length}`,
          certificateAuthorityData: Buffer.from(`CA of ${name}`).toString('base64'),
          close: async () => {
            closed.push(name);
          },
        };
      },
    });
    eks = makeEksClient(controlPlane.endpoint);
  });
  after(async () => {
    eks.destroy();
    await controlPlane.close();
  });

  test('the hook runs when the cluster becomes ACTIVE and its endpoint and CA are reported', async () => {
    await eks.send(new CreateClusterCommand(createRequest('hooked')));
    await waitUntilClusterActive(fastWaiter(eks), { name: 'hooked' });
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'hooked' }));
    assert.deepEqual(provisioned, ['hooked']);
    assert.equal(cluster?.endpoint, 'https://127.0.0.1:9001');
    assert.equal(
      Buffer.from(cluster?.certificateAuthority?.data ?? '', 'base64').toString(),
      'CA of hooked',
    );
  });

  test('the provisioned server is closed when the cluster is deleted', async () => {
    await eks.send(new DeleteClusterCommand({ name: 'hooked' }));
    await waitUntilClusterDeleted(fastWaiter(eks), { name: 'hooked' });
    assert.deepEqual(closed, ['hooked']);
  });

  test('a hook that fails leaves the cluster FAILED with an InternalFailure issue', async () => {
    await eks.send(new CreateClusterCommand(createRequest('unprovisionable')));
    await assertWaiterFailed(waitUntilClusterActive(fastWaiter(eks), { name: 'unprovisionable' }));
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'unprovisionable' }));
    assert.equal(cluster?.status, 'FAILED');
    assert.equal(cluster?.health?.issues?.[0]?.code, 'InternalFailure');
  });
});
