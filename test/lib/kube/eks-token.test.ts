import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import { verifyEksToken } from '../../../infra/local-stack/kube/eks-token-verifier.ts';
import { makeEksTokenProvider, signEksToken } from '../../../lib/kube/eks-token.ts';

interface TokenVector {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  clusterName: string;
  amzDate: string;
  token: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/eks-token-vector.json', import.meta.url), 'utf8'),
) as { vectors: TokenVector[] };

/** `20240102T030405Z` -> Date. */
const fromAmzDate = (amzDate: string): Date =>
  new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));

const decodeUrl = (token: string): URL =>
  new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));

const admin = localIdentities.admin;

describe('signEksToken', () => {
  for (const vector of fixture.vectors) {
    test(`matches the token aws eks get-token printed (${vector.name})`, async () => {
      const token = await signEksToken({
        credentials: {
          accessKeyId: vector.accessKeyId,
          secretAccessKey: vector.secretAccessKey,
          sessionToken: vector.sessionToken,
        },
        region: vector.region,
        clusterName: vector.clusterName,
        signingDate: fromAmzDate(vector.amzDate),
      });
      assert.equal(token, vector.token);
    });
  }

  const cli = new URL('../../../.tools/bin/aws', import.meta.url).pathname;
  test('matches the token the installed AWS CLI prints now', {
    skip: existsSync(cli) ? false : 'AWS CLI not installed (npm run tools)',
    timeout: 20_000,
  }, async () => {
    const { stdout } = await promisify(execFile)(
      cli,
      ['eks', 'get-token', '--cluster-name', 'live-cluster', '--region', 'eu-west-1'],
      {
        env: {
          PATH: '/usr/bin:/bin',
          HOME: '/nonexistent',
          AWS_ACCESS_KEY_ID: admin.accessKeyId,
          AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
          AWS_SESSION_TOKEN: 'live/session+token==',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_STS_REGIONAL_ENDPOINTS: 'regional',
        },
      },
    );
    const cliToken = (JSON.parse(stdout) as { status: { token: string } }).status.token;
    const amzDate = decodeUrl(cliToken).searchParams.get('X-Amz-Date') ?? '';
    const ours = await signEksToken({
      credentials: {
        accessKeyId: admin.accessKeyId,
        secretAccessKey: admin.secretAccessKey,
        sessionToken: 'live/session+token==',
      },
      region: 'eu-west-1',
      clusterName: 'live-cluster',
      signingDate: fromAmzDate(amzDate),
    });
    assert.equal(ours, cliToken);
  });

  test('presigns GetCallerIdentity on the regional STS host with only host and x-k8s-aws-id signed', async () => {
    const token = await signEksToken({
      credentials: admin,
      region: 'ap-southeast-2',
      clusterName: 'c',
      signingDate: new Date('2025-01-02T03:04:05Z'),
    });
    assert.match(token, /^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = decodeUrl(token);
    assert.equal(url.host, 'sts.ap-southeast-2.amazonaws.com');
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host;x-k8s-aws-id');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
    assert.equal(url.searchParams.get('X-Amz-Date'), '20250102T030405Z');
  });

  test('is accepted by the local API server verifier for its own cluster only', async () => {
    const token = await signEksToken({
      credentials: admin,
      region: 'us-east-1',
      clusterName: 'cluster-a',
    });
    const findCredentials = () => ({ secretAccessKey: admin.secretAccessKey });
    const accepted = await verifyEksToken(token, { clusterName: 'cluster-a', findCredentials });
    assert.deepEqual(accepted, { ok: true, accessKeyId: admin.accessKeyId });
    const other = await verifyEksToken(token, { clusterName: 'cluster-b', findCredentials });
    assert.equal(other.ok, false);
  });
});

describe('makeEksTokenProvider', () => {
  const makeClock = (start: Date) => {
    let nowMs = start.getTime();
    return {
      now: () => new Date(nowMs),
      advance: (ms: number) => {
        nowMs += ms;
      },
    };
  };
  const start = new Date('2025-03-04T05:06:07Z');

  test('reuses a cluster token for 14 minutes, then signs a new one', async () => {
    const clock = makeClock(start);
    const provider = makeEksTokenProvider({
      region: 'us-east-1',
      credentials: async () => admin,
      now: clock.now,
    });
    const first = await provider.getToken('c1');
    clock.advance(14 * 60 * 1000 - 1);
    assert.equal(await provider.getToken('c1'), first);
    clock.advance(1);
    const second = await provider.getToken('c1');
    assert.notEqual(second, first);
    assert.equal(decodeUrl(second).searchParams.get('X-Amz-Date'), '20250304T052007Z');
  });

  test('signs separately per cluster and per credentials identity', async () => {
    let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } =
      admin;
    const provider = makeEksTokenProvider({
      region: 'us-east-1',
      credentials: async () => credentials,
      now: () => start,
    });
    const c1 = await provider.getToken('c1');
    const c2 = await provider.getToken('c2');
    assert.notEqual(c1, c2);
    credentials = { ...admin, sessionToken: 'rotated' };
    const rotated = await provider.getToken('c1');
    assert.notEqual(rotated, c1);
    assert.equal(decodeUrl(rotated).searchParams.get('X-Amz-Security-Token'), 'rotated');
  });

  test('signs afresh after a token is invalidated', async () => {
    const clock = makeClock(start);
    const provider = makeEksTokenProvider({
      region: 'us-east-1',
      credentials: async () => admin,
      now: clock.now,
    });
    const first = await provider.getToken('c1');
    clock.advance(1000);
    provider.invalidate('c1', first);
    const second = await provider.getToken('c1');
    assert.notEqual(second, first);
  });

  test('does not cache a failure to resolve credentials', async () => {
    let calls = 0;
    const provider = makeEksTokenProvider({
      region: 'us-east-1',
      credentials: async () => {
        calls += 1;
        if (calls === 1) throw new Error('no credentials yet');
        return admin;
      },
    });
    await assert.rejects(provider.getToken('c1'), /no credentials yet/);
    assert.match(await provider.getToken('c1'), /^k8s-aws-v1\./);
  });
});
