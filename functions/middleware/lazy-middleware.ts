/**
 * A middy middleware built on the first invocation. Handlers read the configuration on their first
 * invocation, not at import, so a bad variable fails that invocation with a clear error instead of
 * the module load; middlewares over the runtime's logger and metrics must wait for it too.
 */
import type middy from '@middy/core';

/** Wraps `build`, called once, on the first request that reaches one of the hooks. */
export const makeLazyMiddleware = (build: () => middy.MiddlewareObj): middy.MiddlewareObj => {
  let inner: middy.MiddlewareObj | undefined;
  const get = (): middy.MiddlewareObj => {
    inner ??= build();
    return inner;
  };
  return {
    before: (request) => get().before?.(request),
    after: (request) => get().after?.(request),
    onError: (request) => get().onError?.(request),
  };
};
