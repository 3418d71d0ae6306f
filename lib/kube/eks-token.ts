/**
 * EKS bearer tokens, byte-identical to `aws eks get-token`: `k8s-aws-v1.` + base64url (no padding)
 * of a SigV4-presigned STS GetCallerIdentity URL whose signed headers are exactly
 * `host;x-k8s-aws-id`, the latter carrying the cluster name (contract §2).
 */

import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export const eksTokenPrefix = 'k8s-aws-v1.';
const clusterIdHeader = 'x-k8s-aws-id';
/** What `aws eks get-token` puts in X-Amz-Expires; STS honours the URL 15 minutes regardless. */
const presignExpiresSeconds = 60;
/** STS accepts the URL for 15 minutes after X-Amz-Date; re-sign with a minute to spare. */
export const defaultTokenRefreshAfterMs = 14 * 60 * 1000;

/** AWS credentials as the SDK's providers return them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface SignEksTokenInput {
  credentials: AwsCredentials;
  region: string;
  clusterName: string;
  /** @default new Date() */
  signingDate?: Date;
}

/** The regional STS host the CLI uses (`AWS_STS_REGIONAL_ENDPOINTS=regional`, CLI v2's default). */
export const toStsHost = (region: string): string =>
  region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;

/**
 * botocore's query order for a presigned URL. The SDK's presigner signs the same canonical
 * (sorted) query, so the signature matches; only the order in the printed URL differs, and the
 * token is compared as a string.
 */
const cliQueryOrder = [
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
] as const;

/** RFC 3986 encoding as botocore's `quote(safe='-_.~')` does (encodeURIComponent leaves `!'()*`). */
const encodeRfc3986 = (value: string): string =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/** Signs one EKS bearer token. Pure: same inputs, same token. */
export async function signEksToken(input: SignEksTokenInput): Promise<string> {
  const host = toStsHost(input.region);
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    // Node's native SHA-256 (the SDK's own choice on Node): the pure-JS one costs milliseconds a request.
    sha256: Hash.bind(null, 'sha256'),
    credentials: {
      accessKeyId: input.credentials.accessKeyId,
      secretAccessKey: input.credentials.secretAccessKey,
      ...(input.credentials.sessionToken ? { sessionToken: input.credentials.sessionToken } : {}),
    },
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: host,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host, [clusterIdHeader]: input.clusterName },
  });
  const signed = await signer.presign(request, {
    signingDate: input.signingDate ?? new Date(),
    expiresIn: presignExpiresSeconds,
  });
  const query = signed.query ?? {};
  const known = new Set<string>(cliQueryOrder);
  const unexpected = Object.keys(query).filter((key) => !known.has(key));
  if (unexpected.length > 0) {
    throw new Error(`the SigV4 presigner added unexpected query parameters: ${unexpected.join()}`);
  }
  const pairs = cliQueryOrder.flatMap((key) => {
    const value = query[key];
    return typeof value === 'string' ? [`${key}=${encodeRfc3986(value)}`] : [];
  });
  const url = `https://${host}/?${pairs.join('&')}`;
  return `${eksTokenPrefix}${Buffer.from(url, 'utf8').toString('base64url')}`;
}

/** Hands out EKS tokens, re-signing only when needed. One per worker, shared by all tasks. */
export interface EksTokenProvider {
  /** A token for `clusterName` that stays valid for at least a minute. */
  getToken(clusterName: string): Promise<string>;
  /** Forgets `token` (the API server refused it), so the next `getToken` signs afresh. */
  invalidate(clusterName: string, token: string): void;
}

export interface EksTokenProviderOptions {
  /** The region of the STS endpoint in the token (the worker's region). */
  region: string;
  /** @default fromNodeProviderChain() (the SDK's default chain, which caches and refreshes) */
  credentials?: AwsCredentialsProvider;
  /** @default 14 minutes */
  refreshAfterMs?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

interface CachedToken {
  clusterName: string;
  token: Promise<string>;
  /** Set once signing finished, so `invalidate` can match it synchronously. */
  value?: string;
  signedAtMs: number;
}

/** Most workers talk to a handful of clusters; the cap only stops an unbounded map. */
const maxCachedTokens = 256;

/**
 * Makes a token provider with a cache keyed by cluster and credentials identity (access key and
 * session token), so rotated credentials get a new token at once.
 */
export function makeEksTokenProvider(options: EksTokenProviderOptions): EksTokenProvider {
  const resolveCredentials = options.credentials ?? fromNodeProviderChain();
  const refreshAfterMs = options.refreshAfterMs ?? defaultTokenRefreshAfterMs;
  const now = options.now ?? (() => new Date());
  const cache = new Map<string, CachedToken>();

  return {
    async getToken(clusterName) {
      const credentials = await resolveCredentials();
      const key = JSON.stringify([
        clusterName,
        credentials.accessKeyId,
        credentials.sessionToken ?? '',
      ]);
      const signingDate = now();
      const cached = cache.get(key);
      if (cached && signingDate.getTime() - cached.signedAtMs < refreshAfterMs) {
        return cached.token;
      }
      const token = signEksToken({ credentials, region: options.region, clusterName, signingDate });
      const entry: CachedToken = { clusterName, token, signedAtMs: signingDate.getTime() };
      if (cache.size >= maxCachedTokens) cache.clear();
      cache.set(key, entry);
      token.then(
        (value) => {
          entry.value = value;
        },
        // A failed signing must not stay cached.
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
      return token;
    },
    invalidate(clusterName, token) {
      for (const [key, entry] of cache) {
        if (entry.clusterName === clusterName && entry.value === token) cache.delete(key);
      }
    },
  };
}
