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
      const runtime = getRuntime();
      logPolicyOnce();
      return runPollerInvocation({
        config: runtime.config,
        integrations: runtime.integrations,
        activityApi: runtime.activityApi,
        logger: runtime.logger,
        context,
        observer: makeMetricsObserver(runtime.metrics),
        ...(runtime.clock ? { clock: runtime.clock } : {}),
        // Tasks and answers still unfinished at the reserve go to the resumer's queue.
        ...(runtime.handOff ? { handOff: runtime.handOff } : {}),
      });
    },
  )
    .use(makeLazyInjectLambdaContext(() => getRuntime().logger))
    .use(makeLazyLogMetrics(metrics));
};

/** The deployed handler (`functions/poller.handler` in serverless.yml). */
export const handler = makePollerHandler(() => makeLambdaRuntime(process.env, 'lambda-poller'));
