/**
 * Lambda handler: the scheduled poller. Thin: middy with Powertools metrics and
 * Lambda context in the log lines around
 * `runPollerInvocation`, which serves the activities for as long as the invocation allows and
 * hands unfinished tasks off to the resumer's queue.
 */
import middy from '@middy/core';
import { makeMetricsObserver } from '../lib/hosts/lambda-metrics.ts';
import { type PollerInvocationSummary, runPollerInvocation } from '../lib/hosts/lambda-poller.ts';
import {
  type LambdaRuntime,
  makeLambdaRuntime,
  makeLazyRuntime,
} from '../lib/hosts/lambda-runtime.ts';
import type { InvocationClock } from '../lib/hosts/lambda-window.ts';
import { makeQueueHandOff } from '../lib/worker/hand-off-message.ts';
import { makeLazyInjectLambdaContext } from './middleware/lazy-inject-lambda-context.ts';
import { makeLazyLogMetrics } from './middleware/lazy-log-metrics.ts';

/**
 * The poller handler over a runtime built on first use (once per cold start). Tests pass a
 * runtime wired to the local stack.
 */
export const makePollerHandler = (makeRuntime: () => LambdaRuntime) => {
  const { getRuntime, logPolicyOnce } = makeLazyRuntime(makeRuntime);
  const metrics = (): LambdaRuntime['metrics'] => getRuntime().metrics;
  return middy(
    async (_event: unknown, context: InvocationClock): Promise<PollerInvocationSummary> => {
      const { config, queue, ...deps } = getRuntime();
      logPolicyOnce();
      return runPollerInvocation({
        config,
        integrations: deps.integrations,
        activityApi: deps.activityApi,
        logger: deps.logger,
        context,
        observer: makeMetricsObserver(deps.metrics),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(queue
          ? {
              // Answers too: one still retrying at the reserve would otherwise be lost when the
              // invocation ends; the resumer delivers it.
              handOff: makeQueueHandOff({
                queue,
                delaySeconds: config.requeueDelaySeconds,
                carryAnswers: true,
              }),
            }
          : {}),
      });
    },
  )
    .use(makeLazyInjectLambdaContext(() => getRuntime().logger))
    .use(makeLazyLogMetrics(metrics));
};

/** The deployed handler (`functions/poller.handler` in serverless.yml). */
export const handler = makePollerHandler(() => makeLambdaRuntime(process.env, 'lambda-poller'));
