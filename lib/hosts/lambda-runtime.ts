/**
 * The real dependencies of the Lambda functions, built once per cold start: configuration,
 * logger, Step Functions client, integrations, the hand-off queue and the metrics.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { makeSqsClient, makeSqsHandOffQueue } from '../aws/sqs-hand-off-queue.ts';
import { loadConfig, type WorkerConfig } from '../config.ts';
import type { Integration } from '../integrations/types.ts';
import type { ActivityApi, Clock, HandOffQueue } from '../worker/ports.ts';
import { makeRuntimeDependencies } from './deps.ts';
import { makeWorkerMetrics } from './lambda-metrics.ts';

/** What a Lambda handler runs on; tests build their own against the local stack. */
export interface LambdaRuntime {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly activityApi: ActivityApi;
  readonly integrations: readonly Integration[];
  /** Logs the policy in force; the handlers call it in their first invocation. */
  readonly logPolicy?: () => void;
  /** The hand-off queue; absent only when no queue URL is configured. */
  readonly queue?: HandOffQueue;
  readonly metrics: Metrics;
  readonly clock?: Clock;
}

/** Builds the runtime from the environment (Lambda sets AWS_REGION; serverless.yml the rest). */
export const makeLambdaRuntime = (
  env: Readonly<Record<string, string | undefined>>,
  host: 'lambda-poller' | 'lambda-resumer',
): LambdaRuntime => {
  const config = loadConfig(env);
  const deps = makeRuntimeDependencies(config, { host });
  const queueUrl = config.handOffQueueUrl;
  return {
    config,
    logger: deps.logger,
    activityApi: deps.activityApi,
    integrations: deps.integrations,
    logPolicy: deps.logPolicy,
    ...(queueUrl === undefined
      ? {}
      : { queue: makeSqsHandOffQueue({ client: makeSqsClient(), queueUrl }) }),
    metrics: makeWorkerMetrics(config, deps.logger),
  };
};

/**
 * The runtime of a handler, built on first use (once per cold start), and its policy lines logged
 * once from inside the first invocation: the middleware builds the runtime to get its logger, so
 * lines logged while building would lack the invocation's request id.
 */
export const makeLazyRuntime = (makeRuntime: () => LambdaRuntime) => {
  let runtime: LambdaRuntime | undefined;
  let policyLogged = false;
  const getRuntime = (): LambdaRuntime => {
    runtime ??= makeRuntime();
    return runtime;
  };
  return {
    getRuntime,
    logPolicyOnce: (): void => {
      if (policyLogged) return;
      policyLogged = true;
      getRuntime().logPolicy?.();
    },
  };
};
