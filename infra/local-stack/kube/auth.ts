/**
 * Authentication (EKS bearer tokens, as aws-iam-authenticator) and authorization (a tiny RBAC:
 * cluster-admin, edit in some namespaces, none) for the local API server. The identity table is an
 * `aws-auth`-like mapping from IAM ARN to Kubernetes user, changeable while the server runs.
 */
import { timingSafeEqual } from 'node:crypto';
import { allLocalIdentities, type KubePermission, type LocalIdentity } from '../identities.ts';
import { verifyEksToken } from './eks-token-verifier.ts';
import { looksLikeJwt, type ServiceAccountTokens } from './service-account-tokens.ts';
import { makeForbiddenError } from './status.ts';

/** Who a request is from, once authenticated. */
export interface KubeUser {
  username: string;
  groups: readonly string[];
  permission: KubePermission;
  /** The IAM ARN the token was signed by (absent for the static debug token). */
  arn?: string;
}

export interface IdentityMapping {
  username: string;
  groups: readonly string[];
  permission: KubePermission;
}

/** What a request wants to do, in RBAC terms. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

export interface KubeAuthOptions {
  clusterName: string;
  /** IAM identities whose secrets are known (signatures are checked against them). */
  identities?: readonly LocalIdentity[];
  /** A static bearer token that authenticates as cluster-admin (debugging). Off by default. */
  staticAdminToken?: string;
  /** Where refused tokens' reasons go (never the token itself). */
  onRefused?: (reason: string) => void;
}

/** The cluster's authenticator and authorizer. */
export class KubeAuth {
  readonly #clusterName: string;
  readonly #secrets = new Map<string, { secretAccessKey: string; arn: string }>();
  readonly #mappings = new Map<string, IdentityMapping>();
  readonly #staticAdminToken: string | undefined;
  readonly #onRefused: ((reason: string) => void) | undefined;
  #serviceAccounts: ServiceAccountTokens | undefined;

  constructor(options: KubeAuthOptions) {
    this.#clusterName = options.clusterName;
    this.#staticAdminToken = options.staticAdminToken;
    this.#onRefused = options.onRefused;
    for (const identity of options.identities ?? allLocalIdentities) {
      this.#secrets.set(identity.accessKeyId, {
        secretAccessKey: identity.secretAccessKey,
        arn: identity.arn,
      });
      if (identity.kubernetes) this.#mappings.set(identity.arn, identity.kubernetes);
    }
  }

  /** Maps (or re-maps) an IAM ARN to a Kubernetes user, as an access entry / aws-auth would. */
  mapIdentity(arn: string, mapping: IdentityMapping): void {
    this.#mappings.set(arn, { ...mapping, groups: [...mapping.groups] });
  }

  /** Accepts ServiceAccount tokens (JWTs) this cluster issued, besides EKS tokens. */
  acceptServiceAccountTokens(tokens: ServiceAccountTokens): void {
    this.#serviceAccounts = tokens;
  }

  /** Removes an ARN's mapping: its valid tokens then get 401. */
  unmapIdentity(arn: string): void {
    this.#mappings.delete(arn);
  }

  /** The current mapping of an ARN. */
  getMapping(arn: string): IdentityMapping | undefined {
    return this.#mappings.get(arn);
  }

  /** Resolves an `Authorization` header to a user, or undefined (the caller answers 401). */
  async authenticate(authorization: string | undefined): Promise<KubeUser | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) {
      this.#onRefused?.('no bearer token');
      return undefined;
    }
    if (this.#staticAdminToken !== undefined && equalsConstantTime(token, this.#staticAdminToken)) {
      return {
        username: 'static-admin',
        groups: ['system:masters'],
        permission: { kind: 'cluster-admin' },
      };
    }
    if (this.#serviceAccounts && looksLikeJwt(token)) {
      const verdict = this.#serviceAccounts.verify(token);
      if (!verdict.ok) this.#onRefused?.(verdict.reason);
      return verdict.ok ? verdict.user : undefined;
    }
    const result = await verifyEksToken(token, {
      clusterName: this.#clusterName,
      findCredentials: (accessKeyId) => this.#secrets.get(accessKeyId),
    });
    if (!result.ok) {
      this.#onRefused?.(result.reason);
      return undefined;
    }
    const arn = this.#secrets.get(result.accessKeyId)?.arn ?? '';
    const mapping = this.#mappings.get(arn);
    if (!mapping) {
      this.#onRefused?.('identity not mapped in the cluster');
      return undefined;
    }
    return { ...mapping, arn };
  }

  /** Throws 403 Forbidden (the real message) unless `user` may do `attrs`. */
  authorize(user: KubeUser, attrs: RequestAttributes): void {
    if (isAllowed(user.permission, attrs)) return;
    throw makeForbiddenError(user.username, attrs.verb, attrs, attrs.namespace, attrs.name);
  }
}

const equalsConstantTime = (a: string, b: string): boolean => {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
};

const readVerbs = new Set(['get', 'list', 'watch']);

/** The three permission levels of the local stack, as ClusterRoles bound per namespace. */
export const isAllowed = (permission: KubePermission, attrs: RequestAttributes): boolean => {
  switch (permission.kind) {
    case 'cluster-admin':
      return true;
    case 'none':
      return false;
    case 'edit': {
      if (attrs.group === '' && attrs.resource === 'namespaces') {
        return readVerbs.has(attrs.verb) && attrs.subresource === undefined;
      }
      return attrs.namespace !== undefined && permission.namespaces.includes(attrs.namespace);
    }
  }
};
