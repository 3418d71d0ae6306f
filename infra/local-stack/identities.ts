/**
 * The local stack's AWS account and IAM identities. The stand-in servers verify SigV4 signatures
 * against these secrets, exactly as AWS would, so a client signing with another secret is refused.
 *
 * Kubernetes permissions are what the cluster maps each identity to (as an EKS access entry or an
 * `aws-auth` mapping would): `cluster-admin`, `edit` in some namespaces, `none` (authenticated but
 * allowed nothing, so every request is 403), or unmapped (absent from `kubernetes`: 401).
 */
export const localRegion = 'us-east-1';
export const localAccountId = '123456789012';

export type KubePermission =
  | { kind: 'cluster-admin' }
  | { kind: 'edit'; namespaces: readonly string[] }
  | { kind: 'none' };

export interface LocalIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly arn: string;
  /** The Kubernetes user name; absent means the cluster does not map this identity at all. */
  readonly kubernetes?: { username: string; groups: readonly string[]; permission: KubePermission };
}

export const localIdentities = {
  admin: {
    accessKeyId: 'AKIALOCALADMIN000001',
    secretAccessKey: 'local-admin-secret-key-0000000000000000',
    arn: `arn:aws:iam::${localAccountId}:user/local-admin`,
    kubernetes: {
      username: 'local-admin',
      groups: ['system:masters'],
      permission: { kind: 'cluster-admin' },
    },
  },
  teamEditor: {
    accessKeyId: 'AKIALOCALEDITOR00001',
    secretAccessKey: 'local-editor-secret-key-000000000000000',
    arn: `arn:aws:iam::${localAccountId}:user/team-editor`,
    kubernetes: {
      username: 'team-editor',
      groups: ['team-a'],
      permission: { kind: 'edit', namespaces: ['team-a'] },
    },
  },
  noPermissions: {
    accessKeyId: 'AKIALOCALNOPERMS0001',
    secretAccessKey: 'local-noperms-secret-key-00000000000000',
    arn: `arn:aws:iam::${localAccountId}:user/no-permissions`,
    kubernetes: { username: 'no-permissions', groups: [], permission: { kind: 'none' } },
  },
  unmapped: {
    accessKeyId: 'AKIALOCALUNMAPPED001',
    secretAccessKey: 'local-unmapped-secret-key-0000000000000',
    arn: `arn:aws:iam::${localAccountId}:user/unmapped`,
  },
} as const satisfies Record<string, LocalIdentity>;

export const allLocalIdentities: readonly LocalIdentity[] = Object.values(localIdentities);

export const findIdentityByAccessKey = (accessKeyId: string): LocalIdentity | undefined =>
  allLocalIdentities.find((identity) => identity.accessKeyId === accessKeyId);
