/**
 * The one list of integrations the hosts serve, built from shared dependencies: one EKS client, one
 * token provider and one Kubernetes connector per worker, so every task reuses cached tokens,
 * cluster look-ups and keep-alive connections. The worker picks an integration by the end of the
 * activity name (`Integration.activitySuffix`), so suffixes must be unique.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EKSClient } from '@aws-sdk/client-eks';
import { makeEksClusterLookup } from '../aws/eks-cluster-lookup.ts';
import { makeEksClient, makeEksControlPlane } from '../aws/eks-control-plane.ts';
import type { WorkerConfig } from '../config.ts';
import { makeKubeConnector } from '../kube/connection.ts';
import { type AwsCredentialsProvider, makeEksTokenProvider } from '../kube/eks-token.ts';
import { withInClusterIdentity } from '../kube/in-cluster.ts';
import { guardIntegration, logPolicyInForce } from '../policy/guard.ts';
import { readActivityName } from '../worker/resolve-integration.ts';
import { makeEksControlPlaneIntegrations } from './eks-control-plane/index.ts';
import { makeKubeCallIntegration } from './kube-call/kube-call.ts';
import { makeRunJobIntegrations } from './kube-job/run-job-integrations.ts';
import type { Integration } from './types.ts';

/** What integrations are built from; hosts construct it once per process or cold start. */
export interface IntegrationDependencies {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  /** @default makeEksClient({ region: config.region }) */
  readonly eksClient?: EKSClient;
  /** Signs Kubernetes tokens. @default the SDK's default credential chain */
  readonly credentials?: AwsCredentialsProvider;
}

export interface IntegrationSet {
  readonly integrations: readonly Integration[];
  /**
   * Logs which policy is in force. Hosts call it once they log with their context (on Lambda,
   * inside the first invocation, so the lines carry its request id), not when building.
   */
  logPolicy(): void;
  /** Closes keep-alive connections to clusters and to EKS. */
  close(): void;
}

/**
 * Every integration the worker serves: eks:call, eks:runJob(.sync), and the 12 control-plane ones,
 * each behind the configured policy (lib/policy), which is decided before anything is sent.
 */
export const makeIntegrations = (deps: IntegrationDependencies): IntegrationSet => {
  const { config } = deps;
  const eksClient = deps.eksClient ?? makeEksClient({ region: config.region });
  const eksConnector = makeKubeConnector({
    tokens: makeEksTokenProvider({
      region: config.region,
      refreshAfterMs: config.tokenRefreshMs,
      ...(deps.credentials ? { credentials: deps.credentials } : {}),
    }),
    lookup: makeEksClusterLookup({ client: eksClient }),
    allowedEndpoints: config.trustedEndpoints,
  });
  // The cluster the worker runs in (if configured) is reached as the pod's ServiceAccount.
  const connector =
    config.inClusterName === undefined
      ? eksConnector
      : withInClusterIdentity(eksConnector, {
          clusterName: config.inClusterName,
          endpoint: config.inClusterEndpoint,
          credentialsDir: config.inClusterCredentialsDir,
        });
  const connect = connector.connect.bind(connector);
  return {
    logPolicy: () =>
      logPolicyInForce(
        config.policy,
        config.activityArns.flatMap((arn) => readActivityName(arn) ?? []),
        deps.logger,
      ),
    integrations: [
      makeKubeCallIntegration({ connector: { connect } }),
      ...makeRunJobIntegrations({ connect, pollIntervalMs: config.jobPollIntervalMs }),
      ...makeEksControlPlaneIntegrations({
        eks: makeEksControlPlane(eksClient),
        pollIntervalMs: config.controlPlanePollIntervalMs,
      }),
    ].map((integration) => guardIntegration(integration, config.policy)),
    close: () => {
      connector.close();
      if (!deps.eksClient) eksClient.destroy();
    },
  };
};
