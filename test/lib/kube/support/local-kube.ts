/**
 * Test support: the local Kubernetes API server plus our own token provider, look-up and
 * connector wired to it, as the worker wires them.
 */

import { type LocalIdentity, localRegion } from '../../../../infra/local-stack/identities.ts';
import {
  type KubeApiServer,
  startKubeApiServer,
} from '../../../../infra/local-stack/kube/server.ts';
import {
  ClusterNotFoundError,
  type EksClusterLookup,
  fromDescribed,
} from '../../../../lib/aws/eks-cluster-lookup.ts';
import type { ResolvedCluster } from '../../../../lib/kube/cluster-target.ts';
import { type KubeConnector, makeKubeConnector } from '../../../../lib/kube/connection.ts';
import { type EksTokenProvider, makeEksTokenProvider } from '../../../../lib/kube/eks-token.ts';

export const testClusterName = 'kube-call-test-cluster';

export const startServer = (): Promise<KubeApiServer> =>
  startKubeApiServer({ clusterName: testClusterName });

/** A look-up that knows the given clusters and records every call. */
export function makeFakeLookup(clusters: Record<string, ResolvedCluster>) {
  const calls: { name: string; refresh: boolean }[] = [];
  const lookup: EksClusterLookup = {
    async describeCluster(name, options) {
      calls.push({ name, refresh: options?.refresh ?? false });
      const found = clusters[name];
      if (!found)
        throw new ClusterNotFoundError(name, { Message: `No cluster found for name: ${name}.` });
      return found;
    },
  };
  return { lookup, calls };
}

/** Counts how many tokens were handed out and how many were invalidated. */
export function makeCountingTokens(identity: LocalIdentity, now?: () => Date) {
  const inner = makeEksTokenProvider({
    region: localRegion,
    credentials: async () => identity,
    ...(now ? { now } : {}),
  });
  const counts = { issued: 0, invalidated: 0 };
  const tokens: EksTokenProvider = {
    getToken(clusterName) {
      counts.issued += 1;
      return inner.getToken(clusterName);
    },
    invalidate(clusterName, token) {
      counts.invalidated += 1;
      inner.invalidate(clusterName, token);
    },
  };
  return { tokens, counts };
}

/** A connector whose look-up reports the server for its cluster name. */
export function connectorFor(
  server: KubeApiServer,
  identity: LocalIdentity,
  options: { allowedEndpoints?: string[] } = {},
): {
  connector: KubeConnector;
  calls: { name: string; refresh: boolean }[];
  counts: { issued: number; invalidated: number };
} {
  const { lookup, calls } = makeFakeLookup({
    [server.clusterName]: fromDescribed(server.clusterName, server.endpoint, server.caData),
  });
  const { tokens, counts } = makeCountingTokens(identity);
  const connector = makeKubeConnector({
    tokens,
    lookup,
    allowedEndpoints: options.allowedEndpoints ?? [],
    clientOptions: { retry: { baseDelayMs: 5, maxDelayMs: 50 }, connectTimeoutMs: 2000 },
  });
  return { connector, calls, counts };
}
