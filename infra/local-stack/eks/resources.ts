/**
 * What building any EKS resource needs: where it lives, generated ids, and how optional members
 * are left out. The builders themselves (clusters.ts, nodegroups.ts, fargate-profiles.ts) take the
 * members a caller gave, echoed, plus the defaults EKS fills in; their shapes are the SDK's own
 * model types so a missing or misspelt member is a compile error, not a silent difference from EKS.
 */
import { randomBytes } from 'node:crypto';

/** Where resources live: ARNs and OIDC issuers are built from these. */
export interface EksLocation {
  region: string;
  accountId: string;
}

/** The Kubernetes version a cluster gets when the request names none. */
export const defaultKubernetesVersion = '1.33';

/** Uppercase hex as EKS uses in endpoints and OIDC issuer ids (32 characters). */
export const makeClusterHexId = (): string => randomBytes(16).toString('hex').toUpperCase();

export const makeShortId = (prefix: string): string =>
  `${prefix}-${randomBytes(8).toString('hex').slice(0, 17)}`;

/** `{ [key]: value }` when value is defined, else `{}`: EKS omits members nobody set. */
export const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
