/**
 * From a task's cluster coordinates to a {@link KubeClient}: decodes the CA, looks up what the
 * task omitted, and decides whether the endpoint may receive the worker's token at all.
 *
 * Why the trust check: the token proves the worker's IAM role to whoever receives it (it is a
 * presigned STS call, replayable for 15 minutes), so a task input must not be able to send it
 * to an arbitrary URL. Only an endpoint EKS itself reports for the named cluster, or one an
 * operator allow-listed (a proxy, a private DNS name), ever sees it.
 */
import { X509Certificate } from 'node:crypto';
import { ClusterNotFoundError, type EksClusterLookup } from '../aws/eks-cluster-lookup.ts';
import { ErrorName, InvalidParametersError, TaskFailedError } from '../errors.ts';
import { type KubeClient, type KubeClientOptions, makeKubeClient } from './client.ts';
import type { EksTokenProvider } from './eks-token.ts';

/** The cluster coordinates a task gives (field names as in the task input, camel-cased). */
export interface ClusterTarget {
  clusterName: string;
  /** `https://` origin; looked up with DescribeCluster when omitted. */
  endpoint?: string | undefined;
  /** base64 of a PEM or DER certificate; looked up when omitted. */
  certificateAuthority?: string | undefined;
}

/** What integrations depend on: one per worker, so all tasks share tokens and connections. */
export interface KubeConnector {
  /**
   * A client for the target. Throws `EKS.InvalidParameters` (bad endpoint or CA),
   * `EKS.EndpointNotTrusted` (nothing sent), or the look-up's `EKS.<Exception>`.
   */
  connect(target: ClusterTarget, signal: AbortSignal): Promise<KubeClient>;
  /** Closes the connections of every client made. */
  close(): void;
}

export interface KubeConnectorOptions {
  tokens: EksTokenProvider;
  lookup: EksClusterLookup;
  /** Endpoints trusted whatever EKS reports (exact origins, e.g. `https://kube.internal:8443`). */
  allowedEndpoints?: readonly string[];
  /** Passed to every client (retries, limits, timeouts). */
  clientOptions?: Pick<KubeClientOptions, 'retry' | 'maxResponseBytes' | 'connectTimeoutMs'>;
}

const pemCertificatePattern = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Decodes `CertificateAuthority` (base64 of PEM, as DescribeCluster returns it, or base64 of a
 * DER certificate) to PEM. Throws an Error whose message says what is wrong.
 */
export function decodeCertificateAuthority(data: string): string {
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

/**
 * The origin of an API server endpoint (`https://host[:port]`, lower-cased host, no default
 * port), or an Error message when it is not a bare https URL.
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

/** Most workers serve a few clusters; beyond this the oldest client is closed. */
const maxClients = 32;

/** Makes the connector (the worker wiring builds one and shares it between integrations). */
export function makeKubeConnector(options: KubeConnectorOptions): KubeConnector {
  const allowed = new Set(
    (options.allowedEndpoints ?? []).map((endpoint) => {
      const parsed = toEndpointOrigin(endpoint);
      if ('problem' in parsed) throw new Error(`allowed endpoint ${endpoint} ${parsed.problem}`);
      return parsed.origin;
    }),
  );
  const clients = new Map<string, KubeClient>();

  const refuse = (target: ClusterTarget, endpoint: string, reason: string, reported?: string) =>
    new TaskFailedError(
      ErrorName.EndpointNotTrusted,
      `Endpoint ${endpoint} is not trusted for cluster ${target.clusterName}: ${reason}`,
      {
        failureCause: {
          Message: `${reason}. The token was not sent. Use the endpoint EKS reports for the cluster, omit Endpoint to look it up, or add it to the worker's allowed endpoints.`,
          ClusterName: target.clusterName,
          Endpoint: endpoint,
          ...(reported ? { ReportedEndpoint: reported } : {}),
        },
      },
    );

  const originOf = (endpoint: string): string => {
    const parsed = toEndpointOrigin(endpoint);
    return 'origin' in parsed ? parsed.origin : endpoint;
  };

  return {
    async connect(target, signal) {
      const problems: { path: string; message: string }[] = [];
      let givenOrigin: string | undefined;
      if (target.endpoint !== undefined) {
        const parsed = toEndpointOrigin(target.endpoint);
        if ('problem' in parsed) problems.push({ path: '$.Endpoint', message: parsed.problem });
        else givenOrigin = parsed.origin;
      }
      let caPem: string | undefined;
      if (target.certificateAuthority !== undefined) {
        try {
          caPem = decodeCertificateAuthority(target.certificateAuthority);
        } catch (error) {
          problems.push({ path: '$.CertificateAuthority', message: (error as Error).message });
        }
      }
      if (problems.length > 0) throw new InvalidParametersError(problems);

      let endpoint = givenOrigin;
      if (endpoint === undefined || caPem === undefined || !allowed.has(endpoint)) {
        let reported: Awaited<ReturnType<EksClusterLookup['describeCluster']>>;
        try {
          reported = await options.lookup.describeCluster(target.clusterName, { signal });
          // A cached answer may predate a recreated cluster: ask EKS again before refusing.
          if (
            endpoint !== undefined &&
            !allowed.has(endpoint) &&
            originOf(reported.endpoint) !== endpoint
          ) {
            reported = await options.lookup.describeCluster(target.clusterName, {
              signal,
              refresh: true,
            });
          }
        } catch (error) {
          if (
            error instanceof ClusterNotFoundError &&
            endpoint !== undefined &&
            !allowed.has(endpoint)
          ) {
            throw refuse(target, endpoint, 'EKS has no cluster of that name');
          }
          throw error;
        }
        const reportedOrigin = originOf(reported.endpoint);
        if (endpoint !== undefined && !allowed.has(endpoint) && reportedOrigin !== endpoint) {
          throw refuse(
            target,
            endpoint,
            'it is not the endpoint EKS reports for the cluster',
            reportedOrigin,
          );
        }
        endpoint ??= reportedOrigin;
        caPem ??= decodeCertificateAuthority(reported.certificateAuthorityData);
      }

      const key = JSON.stringify([target.clusterName, endpoint, caPem]);
      const existing = clients.get(key);
      if (existing) {
        // Refresh its place in the insertion order (least recently used goes first).
        clients.delete(key);
        clients.set(key, existing);
        return existing;
      }
      const client = makeKubeClient({
        ...options.clientOptions,
        clusterName: target.clusterName,
        endpoint,
        caPem,
        tokens: options.tokens,
      });
      if (clients.size >= maxClients) {
        const [oldestKey, oldest] = clients.entries().next().value ?? [];
        if (oldestKey !== undefined) clients.delete(oldestKey);
        oldest?.close();
      }
      clients.set(key, client);
      return client;
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
