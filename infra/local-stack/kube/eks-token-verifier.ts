/**
 * Verifies EKS bearer tokens (`k8s-aws-v1.<base64url of a presigned STS GetCallerIdentity URL>`)
 * with the same checks, in the same order, as aws-iam-authenticator's `pkg/token/token.go`:
 * size, prefix, https, STS host, path `/`, only whitelisted single-valued query parameters,
 * `Action=GetCallerIdentity`, `x-k8s-aws-id` among the signed headers, `X-Amz-Expires` in 0..900
 * (shape only: the URL is valid 15 minutes from `X-Amz-Date` whatever it says, as STS does).
 *
 * Where the authenticator then calls STS (which checks the signature against the `x-k8s-aws-id`
 * header it adds with *its own* cluster name), we recompute the SigV4 signature locally with the
 * identity's secret and this server's cluster name, so a token minted for another cluster fails.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export const eksTokenPrefix = 'k8s-aws-v1.';
export const clusterIdHeader = 'x-k8s-aws-id';

/** aws-iam-authenticator refuses tokens longer than 4 KiB before decoding them. */
const maxTokenBytes = 4096;
/** STS accepts a presigned GetCallerIdentity URL for 15 minutes after X-Amz-Date. */
export const presignedUrlValidityMs = 15 * 60 * 1000;

const allowedParameters = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

/** Global and regional STS endpoints (and China partition), as the authenticator's host regexp. */
const stsHostPattern = /^sts(\.[a-z1-9-]+)?\.amazonaws\.com(\.cn)?$/;

export interface TokenCredentials {
  secretAccessKey: string;
}

export interface VerifyEksTokenOptions {
  /** The cluster name this server serves; the signed `x-k8s-aws-id` must be it. */
  clusterName: string;
  /** Finds the secret for an access key id (undefined: unknown key, refused). */
  findCredentials: (accessKeyId: string) => TokenCredentials | undefined;
  /** @default new Date() */
  now?: Date;
}

export type EksTokenVerification =
  | { ok: true; accessKeyId: string }
  /** `reason` is for server-side diagnostics only; clients always get a bare 401. */
  | { ok: false; reason: string };

const refuse = (reason: string): EksTokenVerification => ({ ok: false, reason });

/** Parses `20240102T030405Z` (SigV4's basic ISO 8601) or returns undefined. */
const parseAmzDate = (value: string): Date | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, ...number[]];
  return new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0));
};

/** Verifies one EKS bearer token (without the `Bearer ` prefix). */
export async function verifyEksToken(
  token: string,
  options: VerifyEksTokenOptions,
): Promise<EksTokenVerification> {
  if (token.length > maxTokenBytes) return refuse('token is too large');
  if (!token.startsWith(eksTokenPrefix)) return refuse('token is missing the k8s-aws-v1. prefix');
  const encoded = token.slice(eksTokenPrefix.length);
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return refuse('token is not base64url without padding');
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return refuse('token does not decode to a URL');
  }
  if (url.protocol !== 'https:') return refuse('unexpected scheme in pre-signed URL');
  if (!stsHostPattern.test(url.host)) return refuse('unexpected hostname in pre-signed URL');
  if (url.pathname !== '/') return refuse('unexpected path in pre-signed URL');

  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [key, value] of url.searchParams) {
    const lower = key.toLowerCase();
    if (!allowedParameters.has(lower)) return refuse(`non-whitelisted query parameter ${key}`);
    if (seen.has(lower)) return refuse('query parameter with multiple values not supported');
    seen.add(lower);
    params.set(lower, value);
  }
  if (params.get('action') !== 'GetCallerIdentity') return refuse('unexpected action parameter');
  if (params.get('version') !== '2011-06-15') return refuse('unexpected version parameter');
  const signedHeaders = (params.get('x-amz-signedheaders') ?? '').split(';');
  if (!signedHeaders.includes(clusterIdHeader)) {
    return refuse('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  }
  const expiresSeconds = Number(params.get('x-amz-expires'));
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 0 || expiresSeconds > 900) {
    return refuse('invalid X-Amz-Expires parameter in pre-signed URL');
  }
  const signingDate = parseAmzDate(params.get('x-amz-date') ?? '');
  if (!signingDate) return refuse('X-Amz-Date parameter must be present and valid');
  const nowMs = (options.now ?? new Date()).getTime();
  if (signingDate.getTime() + presignedUrlValidityMs < nowMs) return refuse('token is expired');
  // STS refuses a signature dated too far in the future too (clock skew limit).
  if (signingDate.getTime() - presignedUrlValidityMs > nowMs)
    return refuse('token is from the future');
  if (params.get('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') return refuse('unexpected algorithm');

  const scope = (params.get('x-amz-credential') ?? '').split('/');
  const [accessKeyId, scopeDate, region, service, terminator] = scope;
  if (
    scope.length !== 5 ||
    !accessKeyId ||
    !region ||
    service !== 'sts' ||
    terminator !== 'aws4_request' ||
    scopeDate !== params.get('x-amz-date')?.slice(0, 8)
  ) {
    return refuse('malformed credential scope');
  }
  const credentials = options.findCredentials(accessKeyId);
  if (!credentials) return refuse('unknown access key');

  const unsigned = new Set(signedHeaders.filter((h) => h !== 'host' && h !== clusterIdHeader));
  if (unsigned.size > 0) return refuse('unexpected signed headers');
  const expected = await presignStsUrl({
    host: url.host,
    region,
    accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: params.get('x-amz-security-token'),
    clusterName: options.clusterName,
    signingDate,
    expiresSeconds,
  });
  const expectedSignature = new URL(expected).searchParams.get('X-Amz-Signature') ?? '';
  const given = Buffer.from(params.get('x-amz-signature') ?? '', 'utf8');
  const wanted = Buffer.from(expectedSignature, 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return refuse('signature does not match');
  }
  return { ok: true, accessKeyId };
}

/** What to presign: everything that enters an EKS token's signature. */
export interface PresignStsUrlInput {
  /** `sts.amazonaws.com` or `sts.<region>.amazonaws.com`. */
  host: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  clusterName: string;
  signingDate: Date;
  /** @default 60 (what `aws eks get-token` uses) */
  expiresSeconds?: number;
}

/**
 * The presigned STS GetCallerIdentity URL an EKS token carries (query in the SDK's canonical
 * order), made with the AWS SDK's own SigV4 presigner.
 */
export async function presignStsUrl(input: PresignStsUrlInput): Promise<string> {
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    // Node's native SHA-256 (the SDK's own choice on Node): the pure-JS one costs milliseconds a request.
    sha256: Hash.bind(null, 'sha256'),
    credentials: {
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
      ...(input.sessionToken ? { sessionToken: input.sessionToken } : {}),
    },
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: input.host,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: input.host, [clusterIdHeader]: input.clusterName },
  });
  const signed = await signer.presign(request, {
    signingDate: input.signingDate,
    expiresIn: input.expiresSeconds ?? 60,
  });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `https://${input.host}/?${query}`;
}
