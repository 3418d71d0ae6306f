/**
 * Lambda handler: the resumer, fed by the hand-off queue's SQS event source with
 * `ReportBatchItemFailures`. Thin: middy with Powertools metrics and
 * Lambda context in the log lines around `resumeHandedOffTasks`.
 */
import middy from '@middy/core';
import { makeCarriedReporter, makeMetricsObserver } from '../lib/hosts/lambda-metrics.ts';
import {
  type BatchResponse,
  resumeHandedOffTasks,
  type SqsRecordLike,
} from '../lib/hosts/lambda-resumer.ts';
import {
  type LambdaRuntime,
  makeLambdaRuntime,
  makeLazyRuntime,
} from '../lib/hosts/lambda-runtime.ts';
import type { InvocationClock } from '../lib/hosts/lambda-window.ts';
import { makeLazyInjectLambdaContext } from './middleware/lazy-inject-lambda-context.ts';
import { makeLazyLogMetrics } from './middleware/lazy-log-metrics.ts';

/** The fields of an SQS event the resumer reads. */
export interface SqsEventLike {
  readonly Records: readonly SqsRecordLike[];
}

/**
 * The resumer handler over a runtime built on first use (once per cold start). Tests pass a
 * runtime wired to the local stack.
 */
export const makeResumerHandler = (makeRuntime: () => LambdaRuntime) => {
  const { getRuntime, logPolicyOnce } = makeLazyRuntime(makeRuntime);
  return middy(async (event: SqsEventLike, context: InvocationClock): Promise<BatchResponse> => {
    const runtime = getRuntime();
    logPolicyOnce();
    if (runtime.handOffQueue === undefined) {
      // Without a queue a task could not be re-queued at the end of the invocation: refuse the
      // whole batch rather than risk failing tasks as interrupted.
      throw new Error('EKS_WORKER_HANDOFF_QUEUE_URL is required by the resumer');
    }
    return resumeHandedOffTasks(event.Records, {
      config: runtime.config,
      integrations: runtime.integrations,
      activityApi: runtime.activityApi,
      logger: runtime.logger,
      context,
      queue: runtime.handOffQueue,
      observer: makeMetricsObserver(runtime.metrics),
      reportCarried: makeCarriedReporter(runtime.metrics),
      ...(runtime.clock ? { clock: runtime.clock } : {}),
    });
  })
    .use(makeLazyInjectLambdaContext(() => getRuntime().logger))
    .use(makeLazyLogMetrics(() => getRuntime().metrics));
};

/** The deployed handler (`functions/resumer.handler` in serverless.yml). */
export const handler = makeResumerHandler(() => makeLambdaRuntime(process.env, 'lambda-resumer'));
