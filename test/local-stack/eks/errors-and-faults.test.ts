import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateClusterCommand,
  DescribeClusterCommand,
  type EKSClient,
  EKSServiceException,
  InvalidParameterException,
  ListClustersCommand,
  ServerException,
  ThrottlingException,
} from '@aws-sdk/client-eks';
import {
  type EksControlPlane,
  startEksControlPlane,
} from '../../../infra/local-stack/eks/server.ts';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import { clusterRoleArn, makeEksClient, subnetIds } from './support/eks-client.ts';

describe('EKS errors, faults and request signing', () => {
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

  test('CreateCluster without roleArn is an InvalidParameterException (400)', async () => {
    await assert.rejects(
      eks.send(new CreateClusterCommand({ name: 'x', resourcesVpcConfig: { subnetIds } } as never)),
      (error) => {
        assert.ok(error instanceof InvalidParameterException);
        assert.equal(error.$metadata.httpStatusCode, 400);
        assert.match(error.message, /roleArn/);
        return true;
      },
    );
  });

  test('CreateCluster with a name EKS does not allow is an InvalidParameterException', async () => {
    await assert.rejects(
      eks.send(
        new CreateClusterCommand({
          name: '-bad name',
          roleArn: clusterRoleArn,
          resourcesVpcConfig: { subnetIds },
        }),
      ),
      { name: 'InvalidParameterException' },
    );
  });

  test('CreateCluster with an unsupported Kubernetes version is an InvalidParameterException', async () => {
    await assert.rejects(
      eks.send(
        new CreateClusterCommand({
          name: 'old',
          roleArn: clusterRoleArn,
          resourcesVpcConfig: { subnetIds },
          version: '1.10',
        }),
      ),
      { name: 'InvalidParameterException', message: 'unsupported Kubernetes version 1.10' },
    );
  });

  test('a request the HTTP parser refuses (431) is still counted as received', async () => {
    controlPlane.counters.reset();
    const noRetries = makeEksClient(controlPlane.endpoint, localIdentities.admin, {
      maxAttempts: 1,
    });
    try {
      await assert.rejects(
        noRetries.send(new DescribeClusterCommand({ name: 'c'.repeat(100_000) })),
        (error: { $metadata?: { httpStatusCode?: number } }) =>
          error.$metadata?.httpStatusCode === 431,
      );
    } finally {
      noRetries.destroy();
    }
    assert.equal(controlPlane.counters.received, 1);
    assert.equal(controlPlane.counters.total(), 0, 'no operation was reached');
  });

  test('throttled requests are retried by the SDK until one succeeds', async () => {
    controlPlane.counters.reset();
    controlPlane.faults.inject('DescribeCluster', 'throttle', 2);
    const { cluster, $metadata } = await eks.send(new DescribeClusterCommand({ name: 'local' }));
    assert.equal(cluster?.status, 'ACTIVE');
    assert.equal($metadata.attempts, 3);
    assert.equal(controlPlane.counters.get('DescribeCluster'), 3);
    assert.equal(controlPlane.faults.pending, 0);
  });

  test('a throttle the SDK does not retry surfaces as ThrottlingException (429)', async () => {
    controlPlane.faults.inject('ListClusters', 'throttle', 1);
    const noRetries = makeEksClient(controlPlane.endpoint, localIdentities.admin, {
      maxAttempts: 1,
    });
    try {
      await assert.rejects(noRetries.send(new ListClustersCommand({})), (error) => {
        assert.ok(error instanceof ThrottlingException);
        assert.equal(error.$metadata.httpStatusCode, 429);
        assert.equal(error.message, 'Rate exceeded');
        return true;
      });
    } finally {
      noRetries.destroy();
      controlPlane.faults.clear();
    }
  });

  test('injected server errors are ServerException (500) and are retried by the SDK', async () => {
    controlPlane.counters.reset();
    controlPlane.faults.inject('DescribeCluster', 'server-error', 1);
    const { $metadata } = await eks.send(new DescribeClusterCommand({ name: 'local' }));
    assert.equal($metadata.attempts, 2);
    assert.equal(controlPlane.counters.get('DescribeCluster'), 2);

    controlPlane.faults.inject('DescribeCluster', 'server-error', 3);
    await assert.rejects(eks.send(new DescribeClusterCommand({ name: 'local' })), (error) => {
      assert.ok(error instanceof ServerException);
      assert.equal(error.$metadata.httpStatusCode, 500);
      return true;
    });
  });

  test('faults aimed at one operation leave the others alone', async () => {
    controlPlane.faults.inject('CreateCluster', 'server-error', 1);
    const { $metadata } = await eks.send(new DescribeClusterCommand({ name: 'local' }));
    assert.equal($metadata.attempts, 1);
    controlPlane.faults.clear();
  });

  test('added latency delays the answer', async () => {
    controlPlane.faults.addLatency(200, 'DescribeCluster');
    try {
      const started = performance.now();
      await eks.send(new DescribeClusterCommand({ name: 'local' }));
      assert.ok(performance.now() - started >= 190);
    } finally {
      controlPlane.faults.addLatency(0, 'DescribeCluster');
    }
  });

  test('a request signed with the wrong secret is refused as InvalidSignatureException (403)', async () => {
    const impostor = makeEksClient(controlPlane.endpoint, {
      accessKeyId: localIdentities.admin.accessKeyId,
      secretAccessKey: 'not-the-secret',
    });
    try {
      await assert.rejects(
        impostor.send(new DescribeClusterCommand({ name: 'local' })),
        (error) => {
          assert.ok(error instanceof EKSServiceException);
          assert.equal(error.name, 'InvalidSignatureException');
          assert.equal(error.$metadata.httpStatusCode, 403);
          assert.match(error.message, /signature we calculated does not match/);
          return true;
        },
      );
    } finally {
      impostor.destroy();
    }
  });

  test('a request from an unknown access key is refused as UnrecognizedClientException (403)', async () => {
    const stranger = makeEksClient(controlPlane.endpoint, {
      accessKeyId: 'AKIANOBODY0000000000',
      secretAccessKey: 'whatever',
    });
    try {
      await assert.rejects(stranger.send(new ListClustersCommand({})), (error) => {
        assert.ok(error instanceof EKSServiceException);
        assert.equal(error.name, 'UnrecognizedClientException');
        assert.equal(error.$metadata.httpStatusCode, 403);
        return true;
      });
    } finally {
      stranger.destroy();
    }
  });

  test('an unsigned request gets 403 with an x-amzn-ErrorType header and a request id', async () => {
    const response = await fetch(`${controlPlane.endpoint}/clusters`);
    assert.equal(response.status, 403);
    assert.equal(response.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    assert.ok(response.headers.get('x-amzn-requestid'));
    assert.deepEqual(await response.json(), { message: 'Missing Authentication Token' });
  });
});
