import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  type EksControlPlane,
  startEksControlPlane,
} from '../../../infra/local-stack/eks/server.ts';
import { localIdentities, localRegion } from '../../../infra/local-stack/identities.ts';
import { makeClusterCertificates } from '../../../infra/local-stack/kube/tls.ts';
import {
  ClusterNotFoundError,
  makeCachedClusterLookup,
  makeEksClusterLookup,
} from '../../../lib/aws/eks-cluster-lookup.ts';
import type { TaskFailedError } from '../../../lib/errors.ts';

describe('makeCachedClusterLookup', () => {
  const coordinates = { clusterName: 'c', endpoint: 'https://a.example', caPem: 'PEM' };

  test('answers from the cache within the TTL and asks again after it', async () => {
    let nowMs = 0;
    let calls = 0;
    const lookup = makeCachedClusterLookup(
      async () => {
        calls += 1;
        return coordinates;
      },
      { ttlMs: 1000, nowMs: () => nowMs },
    );
    await lookup.describeCluster('c');
    nowMs = 999;
    await lookup.describeCluster('c');
    assert.equal(calls, 1);
    nowMs = 1000;
    await lookup.describeCluster('c');
    assert.equal(calls, 2);
  });

  test('refresh skips the cache', async () => {
    let calls = 0;
    const lookup = makeCachedClusterLookup(async () => {
      calls += 1;
      return coordinates;
    });
    await lookup.describeCluster('c');
    await lookup.describeCluster('c', { refresh: true });
    assert.equal(calls, 2);
  });

  test('shares one look-up between concurrent callers', async () => {
    let calls = 0;
    const lookup = makeCachedClusterLookup(async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return coordinates;
    });
    await Promise.all([lookup.describeCluster('c'), lookup.describeCluster('c')]);
    assert.equal(calls, 1);
  });

  test('does not cache a failure', async () => {
    let calls = 0;
    const lookup = makeCachedClusterLookup(async () => {
      calls += 1;
      if (calls === 1) throw new Error('throttled');
      return coordinates;
    });
    await assert.rejects(lookup.describeCluster('c'), /throttled/);
    assert.deepEqual(await lookup.describeCluster('c'), coordinates);
  });
});

describe('makeEksClusterLookup against the local EKS control plane', () => {
  let controlPlane: EksControlPlane;
  let client: EKSClient;
  let caPem = '';
  before(async () => {
    caPem = (await makeClusterCertificates()).caPem;
    const certificateAuthorityData = Buffer.from(caPem).toString('base64');
    controlPlane = await startEksControlPlane({
      clusters: [
        {
          name: 'known',
          endpoint: 'https://127.0.0.1:6443',
          certificateAuthorityData,
          version: '1.33',
        },
        {
          name: 'spelled',
          endpoint: 'https://API.Example:443/',
          certificateAuthorityData,
          version: '1.33',
        },
      ],
    });
    client = new EKSClient({
      endpoint: controlPlane.endpoint,
      region: localRegion,
      credentials: localIdentities.admin,
    });
  });
  after(async () => {
    client.destroy();
    await controlPlane.close();
  });

  test('reports the endpoint and CA of a cluster, the CA decoded to PEM', async () => {
    const lookup = makeEksClusterLookup({ client });
    const reported = await lookup.describeCluster('known');
    assert.deepEqual(
      { ...reported, caPem: undefined },
      {
        clusterName: 'known',
        endpoint: 'https://127.0.0.1:6443',
        caPem: undefined,
      },
    );
    assert.equal(
      new X509Certificate(reported.caPem).fingerprint256,
      new X509Certificate(caPem).fingerprint256,
    );
  });

  test('reports the endpoint as an origin, as a task Endpoint is compared', async () => {
    const lookup = makeEksClusterLookup({ client });
    assert.equal((await lookup.describeCluster('spelled')).endpoint, 'https://api.example');
  });

  test('an unknown cluster is a ClusterNotFoundError named EKS.ResourceNotFoundException', async () => {
    const lookup = makeEksClusterLookup({ client });
    await assert.rejects(lookup.describeCluster('missing'), (error: TaskFailedError) => {
      assert.ok(error instanceof ClusterNotFoundError);
      assert.equal(error.errorName, 'EKS.ResourceNotFoundException');
      assert.equal((error.failureCause as { StatusCode: number }).StatusCode, 404);
      return true;
    });
  });

  test('an identity EKS refuses is an EKS.<Exception> error', async () => {
    const stranger = new EKSClient({
      endpoint: controlPlane.endpoint,
      region: localRegion,
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    const lookup = makeEksClusterLookup({ client: stranger });
    await assert.rejects(lookup.describeCluster('known'), (error: TaskFailedError) => {
      assert.match(error.errorName, /^EKS\.\w+$/);
      assert.notEqual(error.errorName, 'EKS.ResourceNotFoundException');
      return true;
    });
    stranger.destroy();
  });
});
