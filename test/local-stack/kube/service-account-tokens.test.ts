import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  looksLikeJwt,
  makeServiceAccountTokens,
} from '../../../infra/local-stack/kube/service-account-tokens.ts';

describe('ServiceAccount tokens of the local cluster', () => {
  test('a token it issued stands for the ServiceAccount, with the permission granted to it', () => {
    const tokens = makeServiceAccountTokens('one');
    tokens.grant('ops', 'worker', { kind: 'edit', namespaces: ['default'] });
    const token = tokens.issue('ops', 'worker');
    assert.ok(looksLikeJwt(token));
    assert.ok(!looksLikeJwt('k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8'));
    assert.deepEqual(tokens.verify(token), {
      ok: true,
      user: {
        username: 'system:serviceaccount:ops:worker',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ops'],
        permission: { kind: 'edit', namespaces: ['default'] },
      },
    });
    const other = tokens.verify(tokens.issue('ops', 'other'));
    assert.deepEqual(other.ok && other.user.permission, { kind: 'none' }, 'nothing granted');
  });

  test('another cluster’s token, an expired token and a tampered one are refused', () => {
    const tokens = makeServiceAccountTokens('one');
    tokens.issue('ops', 'worker');
    const foreign = makeServiceAccountTokens('two').issue('ops', 'worker');
    assert.deepEqual(tokens.verify(foreign), {
      ok: false,
      reason: 'service account token: bad signature',
    });
    const expired = tokens.issue('ops', 'worker', { expirationSeconds: -1 });
    assert.deepEqual(tokens.verify(expired), {
      ok: false,
      reason: 'service account token: expired',
    });
    const [header, , signature] = tokens.issue('ops', 'worker').split('.');
    const claims = Buffer.from(
      JSON.stringify({ sub: 'system:serviceaccount:kube-system:admin' }),
    ).toString('base64url');
    assert.equal(tokens.verify(`${header}.${claims}.${signature}`).ok, false);
  });
});
