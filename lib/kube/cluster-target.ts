/**
 * Where a cluster's API server is and which CA signs it: one shape for what a task names (its
 * `ClusterName`, `Endpoint`, `CertificateAuthority`, parsed once by
 * `integrations/validation/cluster-target.ts`), what EKS reports for a cluster
 * (`aws/eks-cluster-lookup.ts`), and what the connection trusts and connects to (`connection.ts`).
 * The rules for the two optional fields live here, so every path checks them the same way.
 */
import { X509Certificate } from 'node:crypto';

export interface ClusterTarget {
  readonly clusterName: string;
  /**
   * The API server's origin (`https://host[:port]`, lower-cased host, no default port), as
   * {@link toEndpointOrigin} makes it. Absent: looked up with DescribeCluster.
   */
  readonly endpoint?: string;
  /** The CA certificate(s) as PEM, as {@link decodeCertificateAuthority} makes it. Absent: looked up. */
  readonly caPem?: string;
}

/** A cluster with nothing left to look up. */
export type ResolvedCluster = Required<ClusterTarget>;

/**
 * The origin of an API server endpoint (`https://host[:port]`, lower-cased host, no default
 * port), or what is wrong with it when it is not a bare https URL.
 */
export function toEndpointOrigin(endpoint: string): { origin: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { problem: 'is not a URL' };
  }
  if (url.protocol !== 'https:') return { problem: 'must be an https:// URL' };
  if (url.username || url.password) return { problem: 'must not carry credentials' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return { problem: 'must be an origin without path, query or fragment' };
  }
  return { origin: url.origin };
}

const pemCertificatePattern = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const decodedAuthorities = new Map<string, string>();
/** Distinct CAs kept decoded; a worker serves a handful of clusters. */
const maxDecodedAuthorities = 64;

/**
 * Decodes `CertificateAuthority` (base64 of PEM, as DescribeCluster returns it, or base64 of a
 * DER certificate) to PEM. Throws an Error whose message says what is wrong.
 * Remembered: every task of a cluster carries the same CA, and parsing it as X.509 for each one
 * cost about a millisecond per task (seconds of CPU at 5,000 tasks).
 */
export function decodeCertificateAuthority(data: string): string {
  const known = decodedAuthorities.get(data);
  if (known !== undefined) return known;
  const pem = parseCertificateAuthority(data);
  if (decodedAuthorities.size >= maxDecodedAuthorities) decodedAuthorities.clear();
  decodedAuthorities.set(data, pem);
  return pem;
}

function parseCertificateAuthority(data: string): string {
  const compact = data.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new Error('is not base64 data');
  }
  const bytes = Buffer.from(compact, 'base64');
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const pems = text.match(pemCertificatePattern) ?? [];
    for (const pem of pems) {
      try {
        new X509Certificate(pem);
      } catch {
        throw new Error('holds a PEM block that is not a valid X.509 certificate');
      }
    }
    if (pems.length === 0) throw new Error('holds an unterminated PEM certificate');
    return `${pems.join('\n')}\n`;
  }
  try {
    return new X509Certificate(bytes).toString();
  } catch {
    throw new Error('is neither a PEM nor a DER X.509 certificate');
  }
}
