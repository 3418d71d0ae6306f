/**
 * The real dependencies of the Lambda functions, built once per cold start: configuration,
 * logger, Step Functions client, integrations, the hand-off queue and the metrics.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { makeSqsClient, makeSqsHandOffQueue } from '../aws/sqs-hand-off-queue.ts';
import { loadConfig, type WorkerConfig } from '../config.ts';
import type { Integration } from '../integrations/types.ts';
import type { HandOffQueue } from '../worker/hand-off-message.ts';
import type { ActivityApi, Clock } from '../worker/ports.ts';
import { makeRuntimeDependencies } from './deps.ts';
import { makeWorkerMetrics } from './lambda-metrics.ts';

/** What a Lambda handler runs on; tests build their own against the local stack. */
export interface LambdaRuntime {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly activityApi: ActivityApi;
  readonly integrations: readonly Integration[];
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
    ...(queueUrl === undefined
      ? {}
      : { queue: makeSqsHandOffQueue({ client: makeSqsClient(), queueUrl }) }),
    metrics: makeWorkerMetrics(config, deps.logger),
  };
};
