/**
 * The composition root: the one place that builds a worker from its configuration. The Step
 * Functions client, the EKS client, the cluster look-up, the Kubernetes connections, the
 * integrations behind the policy, the hand-off queue and the worker options are all made here.
 * Every host asks it (the process host, the Lambda poller and resumer, the local stack's worker,
 * tests) and overrides only what differs, so a new dependency is wired once.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EKSClient } from '@aws-sdk/client-eks';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { makeEksClusterLookup } from '../aws/eks-cluster-lookup.ts';
import { makeEksClient, makeEksControlPlane } from '../aws/eks-control-plane.ts';
import { makeSfnActivityApi, makeSfnClient } from '../aws/sfn-activity-client.ts';
import { makeSqsClient, makeSqsHandOffQueue } from '../aws/sqs-hand-off-queue.ts';
import type { WorkerConfig } from '../config.ts';
import { makeIntegrations } from '../integrations/index.ts';
import type { Integration } from '../integrations/types.ts';
import { type KubeConnector, makeKubeConnector } from '../kube/connection.ts';
import { type AwsCredentialsProvider, makeEksTokenProvider } from '../kube/eks-token.ts';
import { withInClusterIdentity } from '../kube/in-cluster.ts';
import { makeLogger } from '../logger.ts';
import { logPolicyInForce } from '../policy/guard.ts';
import { makeQueueHandOff } from '../worker/hand-off-message.ts';
import type { ActivityApi, Clock, HandOff, LeaseQueue } from '../worker/ports.ts';
import { readActivityName } from '../worker/resolve-integration.ts';
import { defaultAbortSettleMs, defaultAnswerRetry, type WorkerOptions } from '../worker/worker.ts';
import { computeAbortSettleMs, readInvocationBudget } from './lambda-window.ts';

/** Who runs the worker; the Lambda hosts work inside an invocation that is frozen at its end. */
export type HostName = 'process' | 'lambda-poller' | 'lambda-resumer' | 'local-stack';

const isLambdaHost = (host: HostName): boolean =>
  host === 'lambda-poller' || host === 'lambda-resumer';

/** What a host or a test may provide instead of what the configuration would build. */
export interface CompositionOverrides {
  /** @default makeLogger at config.logLevel, with the host name on every line */
  readonly logger?: Logger;
  /** The Step Functions port (tests: in memory). @default over `sfnClient` */
  readonly activityApi?: ActivityApi;
  /** @default makeSfnClient with a socket per poll and per running task */
  readonly sfnClient?: SFNClient;
  /** Replaces every integration (unit tests of a host). */
  readonly integrations?: readonly Integration[];
  /** @default makeEksClient({ region: config.region }) */
  readonly eksClient?: EKSClient;
  /** Signs Kubernetes tokens. @default the SDK's default credential chain */
  readonly credentials?: AwsCredentialsProvider;
  /** @default SQS at config.handOffQueueUrl; none when that is unset */
  readonly handOffQueue?: LeaseQueue;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A worker's collaborators, built from one configuration. */
export interface Composition {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly activityApi: ActivityApi;
  readonly integrations: readonly Integration[];
  /**
   * Logs which policy is in force. Hosts call it once they log with their context (on Lambda,
   * inside the first invocation, so the lines carry its request id), not when building.
   */
  logPolicy(): void;
  /** The hand-off queue, where `.sync` waits are parked and carried from; absent without one. */
  readonly handOffQueue?: LeaseQueue;
  /**
   * Where `.sync` waits are parked, and where tasks (and on Lambda, answers) go that a stopping
   * worker cannot finish; absent without a queue: waits stay in the process and interrupted
   * tasks fail as `EKS.WorkerInterrupted`.
   */
  readonly handOff?: HandOff;
  /** The worker options the configuration and the host call for. */
  readonly workerOptions: WorkerOptions;
  readonly clock?: Clock;
  /** Closes the clients built here (keep-alive sockets); overrides are the caller's to close. */
  close(): void;
}

/**
 * The worker options from the configuration. On Lambda an aborted integration gets half the
 * hand-off reserve to return, and a ready answer retries only within the reserve: one still
 * retrying when Lambda freezes the sandbox would be lost, so it is handed off instead.
 */
export const makeWorkerOptions = (config: WorkerConfig, host: HostName): WorkerOptions => {
  const options: WorkerOptions = {
    activityArns: config.activityArns,
    workerName: config.workerName,
    maxConcurrentTasks: config.maxConcurrentTasks,
    pollersPerActivity: config.pollersPerActivity,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    cleanupOnAbandon: config.cleanupOnAbandon,
  };
  if (!isLambdaHost(host)) return options;
  const budget = readInvocationBudget(config);
  return {
    ...options,
    abortSettleMs: computeAbortSettleMs(budget, defaultAbortSettleMs),
    answerRetry: {
      ...defaultAnswerRetry,
      maxElapsedMs: Math.min(defaultAnswerRetry.maxElapsedMs, budget.handOffReserveMs),
    },
  };
};

/**
 * The connections to clusters: EKS tokens and cluster look-ups for every cluster, and for the
 * cluster the worker runs in (if configured) the pod's ServiceAccount.
 */
const makeClusterConnector = (
  config: WorkerConfig,
  eksClient: EKSClient,
  credentials: AwsCredentialsProvider | undefined,
): KubeConnector => {
  const eksConnector = makeKubeConnector({
    tokens: makeEksTokenProvider({
      region: config.region,
      refreshAfterMs: config.tokenRefreshMs,
      ...(credentials ? { credentials } : {}),
    }),
    lookup: makeEksClusterLookup({ client: eksClient }),
    allowedEndpoints: config.trustedEndpoints,
  });
  return config.inClusterName === undefined
    ? eksConnector
    : withInClusterIdentity(eksConnector, {
        clusterName: config.inClusterName,
        endpoint: config.inClusterEndpoint,
        credentialsDir: config.inClusterCredentialsDir,
      });
};

/** The integrations and what closes their clients; built only when a host does not bring its own. */
const composeIntegrations = (
  config: WorkerConfig,
  overrides: CompositionOverrides,
): { integrations: readonly Integration[]; close(): void } => {
  if (overrides.integrations) return { integrations: overrides.integrations, close: () => {} };
  const eksClient = overrides.eksClient ?? makeEksClient({ region: config.region });
  const connector = makeClusterConnector(config, eksClient, overrides.credentials);
  return {
    integrations: makeIntegrations({
      connector,
      eks: makeEksControlPlane(eksClient),
      policy: config.policy,
      jobPollIntervalMs: config.jobPollIntervalMs,
      controlPlanePollIntervalMs: config.controlPlanePollIntervalMs,
    }),
    close: () => {
      connector.close();
      if (!overrides.eksClient) eksClient.destroy();
    },
  };
};

/** The Step Functions port, over a client made here unless the host brings the port or client. */
const composeActivityApi = (
  config: WorkerConfig,
  overrides: CompositionOverrides,
): { activityApi: ActivityApi; close(): void } => {
  if (overrides.activityApi) return { activityApi: overrides.activityApi, close: () => {} };
  const sfnClient =
    overrides.sfnClient ??
    makeSfnClient({
      // One socket per possible long poll plus one per running task (heartbeats, answers).
      maxSockets:
        config.maxConcurrentTasks + config.pollersPerActivity * config.activityArns.length,
    });
  return {
    activityApi: makeSfnActivityApi(sfnClient),
    close: () => {
      if (!overrides.sfnClient) sfnClient.destroy();
    },
  };
};

/** The hand-off queue: the host's, or SQS at `config.handOffQueueUrl`, or none. */
const composeHandOffQueue = (
  config: WorkerConfig,
  overrides: CompositionOverrides,
): { handOffQueue: LeaseQueue | undefined; close(): void } => {
  if (overrides.handOffQueue || config.handOffQueueUrl === undefined) {
    return { handOffQueue: overrides.handOffQueue, close: () => {} };
  }
  const client = makeSqsClient();
  return {
    handOffQueue: makeSqsHandOffQueue({ client, queueUrl: config.handOffQueueUrl }),
    close: () => client.destroy(),
  };
};

/**
 * Builds a worker's collaborators from the configuration, for `host`; `overrides` replace any of
 * them. Nothing connects yet: clients open connections on first use.
 */
export const composeWorker = (
  config: WorkerConfig,
  host: HostName,
  overrides: CompositionOverrides = {},
): Composition => {
  const logger =
    overrides.logger ?? makeLogger({ logLevel: config.logLevel, persistentKeys: { host } });
  const sfn = composeActivityApi(config, overrides);
  const integrations = composeIntegrations(config, overrides);
  const { handOffQueue, ...queue } = composeHandOffQueue(config, overrides);
  return {
    config,
    logger,
    activityApi: sfn.activityApi,
    integrations: integrations.integrations,
    logPolicy: () =>
      logPolicyInForce(
        config.policy,
        config.activityArns.flatMap((arn) => readActivityName(arn) ?? []),
        logger,
      ),
    ...(handOffQueue === undefined
      ? {}
      : {
          handOffQueue,
          // A process hands off tasks only: its answers retry until delivered. A Lambda
          // invocation is frozen at its end, so an answer still retrying then goes too. No
          // delay: a parked wait goes unheartbeated until a carrier receives it.
          handOff: makeQueueHandOff({
            queue: handOffQueue,
            delaySeconds: 0,
            carryAnswers: isLambdaHost(host),
          }),
        }),
    workerOptions: makeWorkerOptions(config, host),
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    close: () => {
      integrations.close();
      sfn.close();
      queue.close();
    },
  };
};
