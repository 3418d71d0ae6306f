/**
 * The front of every request: counts it (per route template, once, when it closes), applies any
 * injected fault, authenticates, routes to the resource or non-resource handlers, and turns what
 * they throw into a Status answer (or a dropped connection once an answer has begun).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultDecision } from '../faults.ts';
import { KubeApiError, makeFailureStatus, makeUnauthorizedError } from '../status.ts';
import type { ApiContext } from './context.ts';
import { handleNonResource } from './non-resource.ts';
import { isWatchRequest } from './query-params.ts';
import { parseResourcePath, toRouteTemplate } from './resource-path.ts';
import { handleResource } from './resources.ts';
import { sendStatus } from './respond.ts';

type InjectedError = Extract<FaultDecision, { kind: 'error' }>;

/** Answers an injected error fault as the API server (or a proxy in front of it) would. */
const sendInjectedError = (res: ServerResponse, decision: InjectedError, head: boolean): void => {
  const retryable = decision.status === 429 || decision.status === 503;
  const reason =
    decision.status === 429
      ? 'TooManyRequests'
      : decision.status === 503
        ? 'ServiceUnavailable'
        : decision.status === 504
          ? 'Timeout'
          : 'InternalError';
  const message =
    decision.status === 429
      ? 'Too many requests, please try again later.'
      : `Internal error occurred: injected fault (HTTP ${decision.status})`;
  sendStatus(
    res,
    new KubeApiError(
      makeFailureStatus(
        decision.status,
        reason,
        message,
        retryable ? { retryAfterSeconds: decision.retryAfterSeconds } : undefined,
      ),
    ),
    head,
    retryable ? { 'Retry-After': String(decision.retryAfterSeconds) } : {},
  );
};

/** Makes the server's request listener. */
export const makeRequestHandler =
  (ctx: ApiContext) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const params = url.searchParams;
    const isWatch = isWatchRequest(params);
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const resourcePath = parseResourcePath(segments);
    const route = resourcePath ? toRouteTemplate(resourcePath) : url.pathname;
    let username: string | undefined;
    // 'close' and not 'finish': a client that ends a watch hangs up before the response finishes,
    // and that request counts too.
    let recorded = false;
    res.on('close', () => {
      if (recorded) return;
      recorded = true;
      ctx.requests.record({
        method,
        route,
        path: url.pathname,
        watch: isWatch,
        status: res.statusCode,
        ...(username ? { user: username } : {}),
      });
    });
    const head = method === 'HEAD';
    try {
      const decision = ctx.faults.decide({ method, path: url.pathname, watch: isWatch });
      if (decision.delayMs > 0) await new Promise((r) => setTimeout(r, decision.delayMs));
      if (decision.kind === 'reset') {
        recorded = true;
        ctx.requests.record({ method, route, path: url.pathname, watch: isWatch, status: 0 });
        req.socket.destroy();
        return;
      }
      if (decision.kind === 'error') {
        sendInjectedError(res, decision, head);
        return;
      }
      const user = await ctx.auth.authenticate(req.headers.authorization);
      if (!user) {
        sendStatus(res, makeUnauthorizedError(), head);
        return;
      }
      username = user.username;
      if (resourcePath) {
        await handleResource(ctx, { req, res, path: resourcePath, params }, user);
      } else handleNonResource(ctx, res, method, url.pathname, segments);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const kubeError =
        error instanceof KubeApiError
          ? error
          : new KubeApiError(
              makeFailureStatus(
                500,
                'InternalError',
                `Internal error occurred: ${(error as Error).message}`,
              ),
            );
      sendStatus(res, kubeError, head);
    }
  };
