/**
 * The one list of integrations the hosts serve, assembled from ports the composition root
 * (`lib/hosts/compose.ts`) builds once per worker: one Kubernetes connector and one EKS port, so
 * every task reuses cached tokens, cluster look-ups and keep-alive connections. The worker picks an
 * integration by the end of the activity name (`Integration.activitySuffix`), so suffixes must be
 * unique; `activity-suffixes.json` lists them, and serverless.yml declares one activity for each.
 */
import type { EksControlPlane } from '../aws/eks-control-plane.ts';
import type { KubeConnector } from '../kube/connection.ts';
import type { WorkerPolicy } from '../policy/document.ts';
import { guardIntegration } from '../policy/guard.ts';
import { activitySuffixes } from './activity-suffixes.ts';
import { makeEksControlPlaneIntegrations } from './eks-control-plane/index.ts';
import { makeKubeCallIntegration } from './kube-call/kube-call.ts';
import { makeRunJobIntegrations } from './kube-job/run-job-integrations.ts';
import type { Integration } from './types.ts';

/** What the integrations are built from. */
export interface IntegrationPorts {
  /** Connects to clusters (EKS tokens, or the pod's identity for the cluster the worker runs in). */
  readonly connector: Pick<KubeConnector, 'connect'>;
  /** The EKS control-plane API. */
  readonly eks: EksControlPlane;
  /** What each activity's tasks may do; decided before anything is sent. */
  readonly policy: WorkerPolicy;
  readonly jobPollIntervalMs: number;
  readonly controlPlanePollIntervalMs: number;
}

/**
 * Every integration the worker serves: eks:call, eks:runJob(.sync), and the 12 control-plane ones,
 * each behind the configured policy (lib/policy), which is decided before anything is sent.
 */
export const makeIntegrations = (ports: IntegrationPorts): readonly Integration[] => {
  const connect = ports.connector.connect.bind(ports.connector);
  const integrations = [
    makeKubeCallIntegration({ connector: { connect } }),
    ...makeRunJobIntegrations({ connect, pollIntervalMs: ports.jobPollIntervalMs }),
    ...makeEksControlPlaneIntegrations({
      eks: ports.eks,
      pollIntervalMs: ports.controlPlanePollIntervalMs,
    }),
  ];
  checkServesEverySuffix(integrations);
  return integrations.map((integration) => guardIntegration(integration, ports.policy));
};

/**
 * Throws at start when the integrations and `activity-suffixes.json` disagree: an activity
 * serverless.yml declares would go unserved, or an integration would have no activity.
 */
const checkServesEverySuffix = (integrations: readonly Integration[]): void => {
  const served = integrations.map((integration) => integration.activitySuffix).sort();
  const listed = [...activitySuffixes].sort();
  if (served.join() !== listed.join()) {
    throw new Error(
      `The integrations serve ${served.join(', ')}, but activity-suffixes.json lists ${listed.join(', ')}`,
    );
  }
};
