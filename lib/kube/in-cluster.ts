/**
 * In-cluster identity: when the worker runs inside the very cluster a task targets
 * (EKS_WORKER_IN_CLUSTER_NAME), it talks to that cluster as its pod's ServiceAccount, so RBAC can
 * bind the ServiceAccount directly and the cluster needs no IAM mapping for the worker.
 *
 * The credentials are client-node's in-cluster ones: the projected token file and `ca.crt` in
 * the ServiceAccount folder. client-node's token-file authenticator re-reads the file at least
 * once a minute, so the kubelet's rotation (it rewrites the token well before expiry) is picked
 * up without a restart. The token only ever goes to the in-cluster endpoint the operator
 * configured; a task that names another `Endpoint` for this cluster must pass the usual trust
 * check first (EKS reports it, or it is allow-listed), and is then still served in-cluster.
 *
 * client-node is imported on first use only: the Lambda bundles leave it out (serverless.yml,
 * `custom.esbuild.exclude`), and this is the process host's feature.
 */
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { type KubeClient, type KubeClientOptions, makeKubeClient } from './client.ts';
import { toEndpointOrigin } from './cluster-target.ts';
import type { KubeConnector } from './connection.ts';

export interface InClusterIdentity {
  /** The EKS name of the cluster the worker runs in (tasks name it in `ClusterName`). */
  readonly clusterName: string;
  /** The API server as the pod reaches it, e.g. `https://kubernetes.default.svc`. */
  readonly endpoint: string;
  /** Folder holding the ServiceAccount `token` and `ca.crt`. */
  readonly credentialsDir: string;
  /** Passed to the client (retries, limits, timeouts). */
  readonly clientOptions?: Pick<
    KubeClientOptions,
    'retry' | 'maxResponseBytes' | 'connectTimeoutMs'
  >;
}

/** A KubeConfig for the in-cluster API server with the ServiceAccount's token file as its user. */
export const makeInClusterKubeConfig = async (identity: InClusterIdentity): Promise<KubeConfig> => {
  // Its config module alone: a dynamic import of the package root would bundle all of it
  // (the generated API too, 17 MB) into the process host, which tree-shaking cannot trim.
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser(
    {
      name: identity.clusterName,
      server: identity.endpoint,
      caFile: join(identity.credentialsDir, 'ca.crt'),
      skipTLSVerify: false,
    },
    {
      name: 'service-account',
      // client-node's FileAuth: reads the token per request, re-reading the file every 60 s.
      authProvider: {
        name: 'tokenFile',
        config: { tokenFile: join(identity.credentialsDir, 'token') },
      },
    },
  );
  return kubeConfig;
};

/**
 * Wraps the EKS connector: tasks for `identity.clusterName` get one shared client that
 * authenticates as the pod's ServiceAccount; every other cluster goes to `connector` unchanged.
 */
export const withInClusterIdentity = (
  connector: KubeConnector,
  identity: InClusterIdentity,
): KubeConnector => {
  const parsed = toEndpointOrigin(identity.endpoint);
  if ('problem' in parsed)
    throw new Error(`in-cluster endpoint ${identity.endpoint} ${parsed.problem}`);
  const inClusterOrigin = parsed.origin;
  let client: Promise<KubeClient> | undefined;
  return {
    async connect(target, signal) {
      if (target.clusterName !== identity.clusterName) return connector.connect(target, signal);
      // An Endpoint the task names for this cluster must be one the worker trusts; the usual
      // check decides (nothing is sent by it). The in-cluster endpoint itself needs no check.
      if (target.endpoint !== undefined && target.endpoint !== inClusterOrigin) {
        await connector.connect(target, signal);
      }
      client ??= makeInClusterKubeConfig(identity).then((kubeConfig) =>
        makeKubeClient({
          ...identity.clientOptions,
          clusterName: identity.clusterName,
          endpoint: inClusterOrigin,
          kubeConfig,
        }),
      );
      return client;
    },
    close() {
      void client?.then((made) => made.close());
      connector.close();
    },
  };
};
