/**
 * Powertools' `logMetrics` middleware (flush once per invocation, EMF) over metrics that exist only
 * once the runtime is built: handlers read the configuration on their first invocation, not at
 * import, so a bad variable fails that invocation with a clear error instead of the module load.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type middy from '@middy/core';

/** A middleware factory: `getMetrics` is called on the first invocation only. */
export const makeLazyLogMetrics = (getMetrics: () => Metrics): middy.MiddlewareObj => {
  let inner: middy.MiddlewareObj | undefined;
  const get = (): middy.MiddlewareObj => {
    inner ??= logMetrics(getMetrics(), { throwOnEmptyMetrics: false }) as middy.MiddlewareObj;
    return inner;
  };
  return {
    before: (request) => get().before?.(request),
    after: (request) => get().after?.(request),
    onError: (request) => get().onError?.(request),
  };
};
