/**
 * Where a cluster's API server is and which CA signs it, from `eks:DescribeCluster`, cached, in the
 * shape a task names a cluster in ({@link ResolvedCluster}: an origin and a PEM). The connection
 * layer also uses it to decide whether an `Endpoint` in a task input is trusted.
 */
import {
  DescribeClusterCommand,
  type DescribeClusterCommandOutput,
  EKSClient,
} from '@aws-sdk/client-eks';
import { eksExceptionErrorName, TaskFailedError } from '../errors.ts';
import {
  decodeCertificateAuthority,
  type ResolvedCluster,
  toEndpointOrigin,
} from '../kube/cluster-target.ts';

/** The port the connection layer depends on. */
export interface EksClusterLookup {
  /**
   * Where EKS says the cluster `name` is. Throws {@link ClusterNotFoundError} when EKS has no
   * such cluster and `TaskFailedError('EKS.<Exception>')` for other API errors.
   * `refresh` skips the cache (a cached endpoint did not match: the cluster may be new).
   */
  describeCluster(
    name: string,
    options?: { signal?: AbortSignal; refresh?: boolean },
  ): Promise<ResolvedCluster>;
}

/** EKS answered ResourceNotFoundException (a distinct class: trust decisions depend on it). */
export class ClusterNotFoundError extends TaskFailedError {
  constructor(name: string, failureCause: unknown) {
    super(eksExceptionErrorName('ResourceNotFoundException'), `EKS has no cluster named ${name}`, {
      failureCause,
    });
    this.name = 'ClusterNotFoundError';
  }
}

export type DescribeClusterUncached = (
  name: string,
  signal?: AbortSignal,
) => Promise<ResolvedCluster>;

export interface CachedLookupOptions {
  /** @default 300_000 (5 minutes: endpoints change only when a cluster is recreated) */
  ttlMs?: number;
  /** @default Date.now */
  nowMs?: () => number;
}

/** Wraps an uncached describe in a TTL cache that also shares concurrent look-ups. */
export function makeCachedClusterLookup(
  describe: DescribeClusterUncached,
  options: CachedLookupOptions = {},
): EksClusterLookup {
  const ttlMs = options.ttlMs ?? 300_000;
  const nowMs = options.nowMs ?? Date.now;
  const cache = new Map<string, { atMs: number; value: Promise<ResolvedCluster> }>();
  return {
    describeCluster(name, { signal, refresh = false } = {}) {
      const cached = cache.get(name);
      if (!refresh && cached && nowMs() - cached.atMs < ttlMs) return cached.value;
      const value = describe(name, signal);
      const entry = { atMs: nowMs(), value };
      cache.set(name, entry);
      // Only successes are cached: a throttled or aborted look-up is tried again next time.
      value.catch(() => {
        if (cache.get(name) === entry) cache.delete(name);
      });
      return value;
    },
  };
}

/** What a thrown SDK ServiceException carries. */
interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: unknown;
}

const toEksFailure = (name: string, error: unknown): TaskFailedError => {
  const e = (error ?? {}) as SdkError;
  const statusCode = e.$metadata?.httpStatusCode;
  const failureCause = {
    Message: e.message ?? String(error),
    StatusCode: statusCode,
    RequestId: e.$metadata?.requestId,
  };
  if (e.name === 'ResourceNotFoundException') return new ClusterNotFoundError(name, failureCause);
  return new TaskFailedError(
    eksExceptionErrorName(e.name ?? 'UnknownError'),
    `DescribeCluster ${name} failed: ${failureCause.Message}`,
    {
      cause: error,
      failureCause,
      retryable: Boolean(e.$retryable) || statusCode === undefined || statusCode >= 500,
    },
  );
};

/**
 * What DescribeCluster reports, as a {@link ResolvedCluster}: the endpoint as an origin (compared
 * with a task's `Endpoint` as such; kept as given if it is not a bare https URL, so it matches
 * nothing) and the CA decoded to PEM (an Error saying what is wrong when EKS's is not one).
 */
export const fromDescribed = (
  clusterName: string,
  endpoint: string,
  certificateAuthorityData: string,
): ResolvedCluster => {
  const parsed = toEndpointOrigin(endpoint);
  return {
    clusterName,
    endpoint: 'origin' in parsed ? parsed.origin : endpoint,
    caPem: decodeCertificateAuthority(certificateAuthorityData),
  };
};

/** The one SDK call this module makes (an `EKSClient` fits; tests may pass a fake). */
export interface DescribeClusterClient {
  send(
    command: DescribeClusterCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<DescribeClusterCommandOutput>;
}

export interface EksClusterLookupOptions extends CachedLookupOptions {
  /** @default new EKSClient({}) (region and credentials from the SDK's default chains) */
  client?: DescribeClusterClient;
}

/** The real look-up: `DescribeCluster` through `@aws-sdk/client-eks`, cached. */
export function makeEksClusterLookup(options: EksClusterLookupOptions = {}): EksClusterLookup {
  const client: DescribeClusterClient = options.client ?? new EKSClient({});
  return makeCachedClusterLookup(async (name, signal) => {
    let output: DescribeClusterCommandOutput;
    try {
      output = await client.send(
        new DescribeClusterCommand({ name }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw toEksFailure(name, error);
    }
    const described = output.cluster;
    const endpoint = described?.endpoint;
    const certificateAuthorityData = described?.certificateAuthority?.data;
    if (!endpoint || !certificateAuthorityData) {
      // A cluster still CREATING has neither yet.
      throw new TaskFailedError(
        eksExceptionErrorName('ClusterNotReady'),
        `EKS reports no endpoint or CA for cluster ${name} (status ${described?.status ?? 'unknown'})`,
        {
          failureCause: { Message: 'The cluster has no endpoint yet.', Status: described?.status },
        },
      );
    }
    return fromDescribed(name, endpoint, certificateAuthorityData);
  }, options);
}
