import { timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { findIdentityByAccessKey, type LocalIdentity } from '../identities.ts';

/** What a stand-in AWS service knows about a request it received. */
export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received, e.g. `/clusters/x?maxResults=10`. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string | Uint8Array;
}

export type VerificationResult =
  | { ok: true; identity: LocalIdentity }
  | {
      ok: false;
      code:
        | 'MissingAuthenticationToken'
        | 'IncompleteSignature'
        | 'UnrecognizedClientException'
        | 'InvalidSignatureException'
        | 'SignatureExpired';
      message: string;
    };

const authorizationPattern =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** AWS refuses requests whose X-Amz-Date is more than 15 minutes away from its own clock. */
const maxClockSkewMs = 15 * 60 * 1000;

/**
 * Verifies a SigV4 `Authorization` header the way AWS does: the access key must be known, the
 * scope must name this service, the date must be within 15 minutes, and the signature recomputed
 * with the identity's secret over exactly the headers the client signed must match.
 *
 * Why recompute with the SDK's own signer: it is the reference implementation of the canonical
 * request, so a mismatch here means the client really did sign something else.
 */
export async function verifySigV4Request(
  request: ReceivedRequest,
  expected: { service: string; region: string; now?: Date },
): Promise<VerificationResult> {
  const authorization = headerValue(request.headers, 'authorization');
  if (!authorization) {
    return {
      ok: false,
      code: 'MissingAuthenticationToken',
      message: 'Missing Authentication Token',
    };
  }
  const match = authorizationPattern.exec(authorization);
  if (!match) {
    return {
      ok: false,
      code: 'IncompleteSignature',
      message: 'Authorization header is not a valid AWS4-HMAC-SHA256 signature',
    };
  }
  const [
    ,
    accessKeyId = '',
    scopeDate = '',
    region = '',
    service = '',
    signedHeaderList = '',
    signature = '',
  ] = match;
  const identity = findIdentityByAccessKey(accessKeyId);
  if (!identity) {
    return {
      ok: false,
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  if (service !== expected.service || region !== expected.region) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region and service ('${expected.region}', '${expected.service}'), not ('${region}', '${service}').`,
    };
  }
  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!signingDate || !amzDate?.startsWith(scopeDate)) {
    return {
      ok: false,
      code: 'IncompleteSignature',
      message: 'X-Amz-Date is missing or does not match the credential scope.',
    };
  }
  const now = expected.now ?? new Date();
  if (Math.abs(now.getTime() - signingDate.getTime()) > maxClockSkewMs) {
    return {
      ok: false,
      code: 'SignatureExpired',
      message: `Signature expired: ${amzDate} is now earlier than the allowed window.`,
    };
  }

  const signedHeaders = signedHeaderList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined) {
      return {
        ok: false,
        code: 'IncompleteSignature',
        message: `Signed header ${name} is missing.`,
      };
    }
    headers[name] = value;
  }
  const url = new URL(request.url, 'http://placeholder');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  const signer = new SignatureV4({
    service,
    region,
    // Node's native SHA-256 (the SDK's own choice on Node): the pure-JS one costs milliseconds a request.
    sha256: Hash.bind(null, 'sha256'),
    // Only the headers the client signed may take part; the SDK would otherwise add x-amz-content-sha256.
    applyChecksum: false,
    credentials: { accessKeyId, secretAccessKey: identity.secretAccessKey },
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      path: url.pathname,
      query,
      headers,
      body: request.body,
    }),
    { signingDate, unsignableHeaders: new Set(), signableHeaders: new Set(signedHeaders) },
  );
  const recomputed =
    /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  if (!constantTimeEqual(recomputed, signature)) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return { ok: true, identity };
}

const headerValue = (headers: ReceivedRequest['headers'], name: string): string | undefined => {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
};

/** `20261126T043000Z` -> Date. */
export const parseAmzDate = (value: string): Date | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
};

const constantTimeEqual = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
