/**
 * Powertools' `injectLambdaContext` middleware over the runtime's logger, built on first use:
 * every log line of an invocation, task lines included (task loggers are children created during
 * the invocation), carries `function_request_id`, `cold_start`, `function_name` and the rest of
 * the Lambda context.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type middy from '@middy/core';
import { makeLazyMiddleware } from './lazy-middleware.ts';

/** A middleware factory: `getLogger` is called on the first invocation only. */
export const makeLazyInjectLambdaContext = (getLogger: () => Logger): middy.MiddlewareObj =>
  makeLazyMiddleware(() => injectLambdaContext(getLogger()) as middy.MiddlewareObj);
