import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import { verifyEksToken } from '../../../infra/local-stack/kube/eks-token-verifier.ts';
import { signEksToken } from './support/sign-token.ts';

const admin = localIdentities.admin;
const clusterName = 'verifier-cluster';
const verify = (token: string, now?: Date) =>
  verifyEksToken(token, {
    clusterName,
    findCredentials: (id) =>
      id === admin.accessKeyId ? { secretAccessKey: admin.secretAccessKey } : undefined,
    ...(now ? { now } : {}),
  });
const sign = (extra: Partial<Parameters<typeof signEksToken>[0]> = {}) =>
  signEksToken({
    accessKeyId: admin.accessKeyId,
    secretAccessKey: admin.secretAccessKey,
    clusterName,
    ...extra,
  });

describe('EKS token verifier', () => {
  test('accepts a token signed with the identity secret for this cluster', async () => {
    const result = await verify(await sign());
    assert.deepEqual(result, { ok: true, accessKeyId: admin.accessKeyId });
  });

  test('accepts a token signed for the global STS endpoint host', async () => {
    const token = await sign({ region: 'us-east-1' });
    const url = new URL(Buffer.from(token.slice(11), 'base64url').toString());
    assert.equal(url.host, 'sts.us-east-1.amazonaws.com');
    assert.equal((await verify(token)).ok, true);
  });

  test('refuses a token signed with another secret', async () => {
    const result = await verify(await sign({ secretAccessKey: 'not-the-secret' }));
    assert.deepEqual(result, { ok: false, reason: 'signature does not match' });
  });

  test('refuses a token signed for another cluster', async () => {
    const result = await verify(await sign({ clusterName: 'other-cluster' }));
    assert.deepEqual(result, { ok: false, reason: 'signature does not match' });
  });

  test('refuses a token older than 15 minutes', async () => {
    const signingDate = new Date(Date.now() - 16 * 60 * 1000);
    const result = await verify(await sign({ signingDate }));
    assert.deepEqual(result, { ok: false, reason: 'token is expired' });
  });

  test('accepts a 14-minute-old token even though X-Amz-Expires is 60 (as STS does)', async () => {
    const signingDate = new Date(Date.now() - 14 * 60 * 1000);
    assert.equal((await verify(await sign({ signingDate }))).ok, true);
  });

  test('refuses a token with an extra query parameter', async () => {
    const token = await sign({ editUrl: (u) => u.searchParams.append('X-Extra', '1') });
    const result = await verify(token);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, /non-whitelisted query parameter/);
  });

  test('refuses a token for a host that is not STS', async () => {
    const token = await sign({ editUrl: (u) => (u.host = 'sts.example.com') });
    assert.deepEqual(await verify(token), {
      ok: false,
      reason: 'unexpected hostname in pre-signed URL',
    });
  });

  test('refuses a token whose signed headers do not include x-k8s-aws-id', async () => {
    const token = await sign({ editUrl: (u) => u.searchParams.set('X-Amz-SignedHeaders', 'host') });
    const result = await verify(token);
    assert.match(result.ok ? '' : result.reason, /did not sign the x-k8s-aws-id header/);
  });

  test('refuses X-Amz-Expires above 900', async () => {
    const token = await sign({ editUrl: (u) => u.searchParams.set('X-Amz-Expires', '901') });
    assert.deepEqual(await verify(token), {
      ok: false,
      reason: 'invalid X-Amz-Expires parameter in pre-signed URL',
    });
  });

  test('refuses a token without the k8s-aws-v1. prefix', async () => {
    const token = (await sign()).replace('k8s-aws-v1.', 'k8s-aws-v2.');
    assert.equal((await verify(token)).ok, false);
  });

  test('refuses an unknown access key', async () => {
    const token = await signEksToken({
      accessKeyId: 'AKIAUNKNOWN000000000',
      secretAccessKey: admin.secretAccessKey,
      clusterName,
    });
    assert.deepEqual(await verify(token), { ok: false, reason: 'unknown access key' });
  });
});
