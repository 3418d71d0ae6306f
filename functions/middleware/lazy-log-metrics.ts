/**
 * Powertools' `logMetrics` middleware (flush once per invocation, EMF) over metrics that exist only
 * once the runtime is built. It also emits the `ColdStart` metric on an invocation that started
 * the execution environment (dimensions: service, stage, function_name).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type middy from '@middy/core';
import { makeLazyMiddleware } from './lazy-middleware.ts';

/** A middleware factory: `getMetrics` is called on the first invocation only. */
export const makeLazyLogMetrics = (getMetrics: () => Metrics): middy.MiddlewareObj =>
  makeLazyMiddleware(
    () =>
      logMetrics(getMetrics(), {
        throwOnEmptyMetrics: false,
        captureColdStartMetric: true,
      }) as middy.MiddlewareObj,
  );
