/**
 * ServiceAccount tokens of the local cluster: JWTs shaped like the ones a real API server
 * projects into pods (issuer, `system:serviceaccount:<ns>:<name>` subject, audience, expiry, the
 * `kubernetes.io` claim), signed with a key the cluster makes on first use (ES256, so starting a
 * cluster stays cheap). The API server accepts them as that ServiceAccount, with the permission
 * a test granted it (none by default: authenticated, every request 403, as without RBAC).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { KubePermission } from '../identities.ts';

/** The user a verified token stands for. */
export interface ServiceAccountUser {
  username: string;
  groups: readonly string[];
  permission: KubePermission;
}

export type ServiceAccountVerdict =
  | { ok: true; user: ServiceAccountUser }
  | { ok: false; reason: string };

export interface ServiceAccountTokens {
  /** The `iss` of every token. */
  readonly issuer: string;
  /** A token for `namespace/name`, valid `expirationSeconds` (default an hour) from now. */
  issue(namespace: string, name: string, options?: { expirationSeconds?: number }): string;
  /** What the ServiceAccount may do in the cluster (as a RoleBinding would grant). */
  grant(namespace: string, name: string, permission: KubePermission): void;
  /** Checks signature, issuer, audience and expiry. */
  verify(token: string): ServiceAccountVerdict;
}

/** Whether a bearer token is a JWT at all (EKS tokens are `k8s-aws-v1.<base64url>`). */
export const looksLikeJwt = (token: string): boolean =>
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** The audience real clusters put in projected tokens by default (EKS: the OIDC issuer too). */
const audience = 'https://kubernetes.default.svc';

export const makeServiceAccountTokens = (clusterName: string): ServiceAccountTokens => {
  const issuer = `https://oidc.eks-local/id/${clusterName}`;
  let keys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
  const keyPair = () => {
    if (!keys) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      keys = {
        privateKey: createPrivateKey(pair.privateKey.export({ format: 'pem', type: 'pkcs8' })),
        publicKey: createPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' })),
      };
    }
    return keys;
  };
  const keyId = randomUUID();
  const grants = new Map<string, KubePermission>();

  return {
    issuer,
    issue(namespace, name, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const header = base64url({ alg: 'ES256', kid: keyId, typ: 'JWT' });
      const claims = base64url({
        aud: [audience],
        exp: now + (options.expirationSeconds ?? 3600),
        iat: now,
        nbf: now,
        iss: issuer,
        jti: randomUUID(),
        sub: `system:serviceaccount:${namespace}:${name}`,
        'kubernetes.io': { namespace, serviceaccount: { name, uid: randomUUID() } },
      });
      const signature = sign('sha256', Buffer.from(`${header}.${claims}`), {
        key: keyPair().privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      return `${header}.${claims}.${signature.toString('base64url')}`;
    },
    grant(namespace, name, permission) {
      grants.set(`${namespace}/${name}`, permission);
    },
    verify(token) {
      const [header = '', claims = '', signature = ''] = token.split('.');
      const valid =
        keys !== undefined &&
        verify(
          'sha256',
          Buffer.from(`${header}.${claims}`),
          { key: keys.publicKey, dsaEncoding: 'ieee-p1363' },
          Buffer.from(signature, 'base64url'),
        );
      if (!valid) return { ok: false, reason: 'service account token: bad signature' };
      const payload = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as {
        iss?: string;
        aud?: string[];
        exp?: number;
        sub?: string;
        'kubernetes.io'?: { namespace?: string; serviceaccount?: { name?: string } };
      };
      if (payload.iss !== issuer) return { ok: false, reason: 'service account token: issuer' };
      if (!payload.aud?.includes(audience)) {
        return { ok: false, reason: 'service account token: audience' };
      }
      if ((payload.exp ?? 0) * 1000 <= Date.now()) {
        return { ok: false, reason: 'service account token: expired' };
      }
      const namespace = payload['kubernetes.io']?.namespace ?? '';
      const name = payload['kubernetes.io']?.serviceaccount?.name ?? '';
      return {
        ok: true,
        user: {
          username: `system:serviceaccount:${namespace}:${name}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
          permission: grants.get(`${namespace}/${name}`) ?? { kind: 'none' },
        },
      };
    },
  };
};
