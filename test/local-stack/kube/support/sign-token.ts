/**
 * Mints EKS bearer tokens for tests, as `aws eks get-token` does: a SigV4-presigned STS
 * GetCallerIdentity URL (signed headers `host;x-k8s-aws-id`), base64url without padding, prefixed
 * `k8s-aws-v1.`. Options let tests forge the variants the verifier must refuse.
 */

import { localRegion } from '../../../../infra/local-stack/identities.ts';
import { presignStsUrl } from '../../../../infra/local-stack/kube/eks-token-verifier.ts';

export interface SignTokenOptions {
  accessKeyId: string;
  secretAccessKey: string;
  clusterName: string;
  /** @default localRegion */
  region?: string;
  /** @default now */
  signingDate?: Date;
  /** @default 60 */
  expiresSeconds?: number;
  /** Rewrites the presigned URL before encoding (to add a parameter, change the host, ...). */
  editUrl?: (url: URL) => void;
}

export async function signEksToken(options: SignTokenOptions): Promise<string> {
  const region = options.region ?? localRegion;
  const presigned = await presignStsUrl({
    host: `sts.${region}.amazonaws.com`,
    region,
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    clusterName: options.clusterName,
    signingDate: options.signingDate ?? new Date(),
    expiresSeconds: options.expiresSeconds ?? 60,
  });
  let text = presigned;
  if (options.editUrl) {
    const url = new URL(presigned);
    options.editUrl(url);
    text = url.toString();
  }
  return `k8s-aws-v1.${Buffer.from(text, 'utf8').toString('base64url')}`;
}
