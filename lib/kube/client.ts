/**
 * Raw requests to one cluster's API server with an EKS bearer token (or, in-cluster, whatever a
 * KubeConfig authenticates with).
 *
 * The request goes through `node:https`, not client-node's fetch path: that path is node-fetch
 * (a transitive dependency we would have to import behind its back), and Node's global fetch
 * cannot take the https.Agent that carries the cluster CA. `node:https` streams, aborts on a
 * signal and reports the precise socket/TLS error codes that `EKS.ConnectionFailed` promises.
 *
 * With EKS tokens, TLS material and the Authorization header are two fields (the cluster CA and
 * `Bearer <token>`), set here directly: `@kubernetes/client-node` is more than half of a Lambda
 * bundle, and the Lambda functions need nothing else from it. It earns its place in the process
 * host, whose in-cluster identity (lib/kube/in-cluster.ts) imports it on first use and hands its
 * KubeConfig in as {@link HttpsAuthentication}.
 */
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ErrorName, KubeConnectionError, KubeStatusError, TaskFailedError } from '../errors.ts';
import { computeBackoffDelayMs } from '../retry/backoff.ts';
import { isConnectionResetCode, isTransientStatus } from '../retry/transient.ts';
import type { EksTokenProvider } from './eks-token.ts';
import { parseResponseBody, readBody, readRetryAfterMs, statusTextOf } from './http-body.ts';
import { type KubeWatchEvent, readWatchStream } from './watch-stream.ts';

export type { KubeWatchEvent } from './watch-stream.ts';

/**
 * Sets a request's TLS material (`ca`, client certificates) and `Authorization` header.
 * `@kubernetes/client-node`'s KubeConfig is one (`applyToHTTPSOptions`).
 */
export interface HttpsAuthentication {
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
}

/** Query parameters: each value repeats the key (`?a=1&a=2`). */
export type QueryParameters = Readonly<Record<string, readonly string[]>>;

export interface KubeRequest {
  method: string;
  /** Starts with `/`, carries no query. */
  path: string;
  query?: QueryParameters | undefined;
  body?: string | Buffer | undefined;
  contentType?: string | undefined;
  /** @default 'application/json, *\/*' */
  accept?: string | undefined;
  signal: AbortSignal;
}

export interface KubeResponse {
  statusCode: number;
  statusText: string;
  contentType: string | undefined;
  /** The body as UTF-8 text, empty for HEAD and 204. */
  body: string;
}

export interface KubeClient {
  readonly clusterName: string;
  /** The API server origin, `https://host[:port]`. */
  readonly endpoint: string;
  /** One request, body buffered (up to `maxResponseBytes`). Non-2xx throws {@link KubeStatusError}. */
  request(request: KubeRequest): Promise<KubeResponse>;
  /**
   * Watches `path` (adds `watch=true`), calling `onEvent` per newline-delimited JSON event.
   * Resolves when the stream ends: the server closed it (it does after `timeoutSeconds`) or the
   * connection was cut after the watch began; the caller re-watches from its last resourceVersion.
   * Rejects with the signal's reason when aborted, and as `request` does when the watch cannot
   * start (non-2xx, connection or TLS failure).
   */
  watch(
    path: string,
    query: QueryParameters | undefined,
    onEvent: (event: KubeWatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** A streamed text body (pod logs) as a UTF-8 Readable; never buffered whole. */
  streamText(
    path: string,
    query: QueryParameters | undefined,
    signal: AbortSignal,
  ): Promise<Readable>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

export interface KubeRetryOptions {
  /** Retries after the first attempt for 429/5xx and connection resets. @default 3 */
  maxRetries?: number;
  /** Ceiling of the first backoff without Retry-After, doubled per retry (full jitter). @default 250 */
  baseDelayMs?: number;
  /** Cap on any wait, Retry-After included. @default 10_000 */
  maxDelayMs?: number;
}

/** How a client proves who it is: EKS tokens for a CA, or a KubeConfig that carries both. */
export type KubeClientCredentials =
  | {
      /** The cluster CA (PEM, one or more certificates). */
      caPem: string;
      tokens: EksTokenProvider;
      kubeConfig?: undefined;
    }
  | {
      /**
       * A KubeConfig whose current context holds the CA and the user (e.g. the pod's
       * ServiceAccount token file, which client-node re-reads as the kubelet rotates it).
       */
      kubeConfig: HttpsAuthentication;
      caPem?: undefined;
      tokens?: undefined;
    };

export type KubeClientOptions = KubeClientCredentials & {
  clusterName: string;
  /** `https://host[:port]` */
  endpoint: string;
  retry?: KubeRetryOptions;
  /** Largest body `request` buffers; bigger fails with EKS.OutputTooLarge. @default 16 MiB */
  maxResponseBytes?: number;
  /** Time allowed for TCP connect + TLS handshake. @default 10_000 */
  connectTimeoutMs?: number;
};

/** Error bodies only feed a failure cause (cut to 32 KiB anyway); do not buffer more. */
const maxErrorBodyBytes = 64 * 1024;
/** Methods safe to repeat after a 5xx without Retry-After or a reset connection. */
const idempotentMethods = new Set(['GET', 'HEAD']);

const encodeQuery = (query: QueryParameters | undefined): string => {
  const pairs = Object.entries(query ?? {}).flatMap(([key, values]) =>
    values.map((value) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`),
  );
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
};

/** Waits, or rejects with the signal's reason (not timers' generic AbortError) when aborted. */
const sleep = (delayMs: number, signal: AbortSignal): Promise<void> =>
  sleepFor(delayMs, undefined, { signal }).catch(() => {
    throw signal.reason;
  });

/** The CA and an EKS bearer token per request: all the Lambda hosts need. */
const makeEksAuthentication = (
  clusterName: string,
  caPem: string,
  tokens: EksTokenProvider,
): HttpsAuthentication => ({
  async applyToHTTPSOptions(options) {
    const token = await tokens.getToken(clusterName);
    options.ca = caPem;
    options.rejectUnauthorized = true;
    options.headers = { ...options.headers, Authorization: `Bearer ${token}` };
  },
});

/** Makes a client for one cluster. Cheap; keep one per cluster to reuse its connections. */
export function makeKubeClient(options: KubeClientOptions): KubeClient {
  const { clusterName, tokens } = options;
  const endpointUrl = new URL(options.endpoint);
  if (endpointUrl.protocol !== 'https:') throw new Error('the API server endpoint must be https');
  const endpoint = endpointUrl.origin;
  const maxRetries = options.retry?.maxRetries ?? 3;
  const baseDelayMs = options.retry?.baseDelayMs ?? 250;
  const maxDelayMs = options.retry?.maxDelayMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;

  const authentication =
    options.kubeConfig ?? makeEksAuthentication(clusterName, options.caPem, options.tokens);

  // client-node builds a fresh, non-keep-alive Agent on every applyToHTTPSOptions call; one
  // keep-alive Agent per cluster (same CA) avoids a TLS handshake per request and per watch.
  let agent: https.Agent | undefined;

  /** Full jitter (lib/retry/backoff.ts); `retry` counts from 1. */
  const backoffMs = (retry: number): number =>
    computeBackoffDelayMs(retry - 1, { baseDelayMs, maxDelayMs });

  const connectionFailed = (error: unknown): TaskFailedError =>
    new KubeConnectionError(endpoint, error);

  /** A body cut off mid-way is a connection failure; an abort stays the abort's reason. */
  const readBodyOrFail = (res: IncomingMessage, maxBytes: number, signal: AbortSignal) =>
    readBody(res, maxBytes, signal).catch((error: unknown) => {
      if (signal.aborted) throw signal.reason;
      throw connectionFailed(error);
    });

  /** One attempt: resolves with the response (any status) and the token that was sent. */
  const sendOnce = async (
    request: KubeRequest,
  ): Promise<{ res: IncomingMessage; authorization: string }> => {
    const headers: Record<string, string | number> = {
      Accept: request.accept ?? 'application/json, */*',
      'User-Agent': 'eks-activity-worker',
    };
    if (request.body !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(request.body);
    }
    const httpsOptions: https.RequestOptions = { headers };
    await authentication.applyToHTTPSOptions(httpsOptions);
    if (httpsOptions.rejectUnauthorized === false) {
      throw new Error('refusing to send a token without TLS verification');
    }
    agent ??= new https.Agent({ keepAlive: true, ca: httpsOptions.ca });
    const authorization = String(
      (httpsOptions.headers as Record<string, unknown> | undefined)?.Authorization ?? '',
    );
    return new Promise((resolve, reject) => {
      const req = https.request({
        ...httpsOptions,
        agent,
        method: request.method,
        protocol: 'https:',
        hostname: endpointUrl.hostname.replace(/^\[|\]$/g, ''),
        port: endpointUrl.port || 443,
        path: `${request.path}${encodeQuery(request.query)}`,
        signal: request.signal,
      });
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          const error = Object.assign(new Error(`connect timed out after ${connectTimeoutMs} ms`), {
            code: 'ETIMEDOUT',
          });
          req.destroy(error);
        }, connectTimeoutMs);
        const clear = () => clearTimeout(timer);
        socket.once('secureConnect', clear);
        socket.once('close', clear);
      });
      req.on('response', (res) => resolve({ res, authorization }));
      req.on('error', reject);
      req.end(request.body);
    });
  };

  /**
   * Sends with retries and returns a 2xx response, unread. Retries follow client-go: 429 and 5xx
   * are repeated when the server sends Retry-After (honoured, capped), and for GET/HEAD also
   * without it (backoff); a 401 is repeated once with a freshly signed token (the cached one may
   * have been refused for a clock or credentials change).
   */
  const open = async (request: KubeRequest): Promise<IncomingMessage> => {
    const { signal } = request;
    let retries = 0;
    let resignedAfter401 = false;
    const idempotent = idempotentMethods.has(request.method);
    for (;;) {
      signal.throwIfAborted();
      let sent: { res: IncomingMessage; authorization: string };
      try {
        sent = await sendOnce(request);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (error instanceof TaskFailedError) throw error;
        const code = (error as { code?: string }).code ?? '';
        if (idempotent && isConnectionResetCode(code) && retries < maxRetries) {
          retries += 1;
          await sleep(backoffMs(retries), signal);
          continue;
        }
        throw connectionFailed(error);
      }
      const { res, authorization } = sent;
      const statusCode = res.statusCode ?? 0;
      if (statusCode >= 200 && statusCode < 300) return res;

      const { text } = await readBodyOrFail(res, maxErrorBodyBytes, signal);
      if (statusCode === 401 && !resignedAfter401) {
        resignedAfter401 = true;
        tokens?.invalidate(clusterName, authorization.replace(/^Bearer /, ''));
        continue;
      }
      const retryAfterMs = readRetryAfterMs(res);
      if (
        isTransientStatus(statusCode) &&
        retries < maxRetries &&
        (retryAfterMs !== undefined || idempotent || statusCode === 429)
      ) {
        retries += 1;
        await sleep(Math.min(maxDelayMs, retryAfterMs ?? backoffMs(retries)), signal);
        continue;
      }
      throw new KubeStatusError(
        statusCode,
        statusTextOf(res),
        parseResponseBody(text, res.headers['content-type']),
      );
    }
  };

  return {
    clusterName,
    endpoint,

    async request(request) {
      const res = await open(request);
      const { text, truncated } = await readBodyOrFail(res, maxResponseBytes, request.signal);
      if (truncated) {
        throw new TaskFailedError(
          ErrorName.OutputTooLarge,
          `The Kubernetes API response is larger than ${maxResponseBytes} bytes`,
          {
            failureCause: {
              Message: `The response to ${request.method} ${request.path} is larger than ${maxResponseBytes} bytes. Ask for less: use limit and continue, a labelSelector or a fieldSelector.`,
            },
          },
        );
      }
      return {
        statusCode: res.statusCode ?? 0,
        statusText: statusTextOf(res),
        contentType: res.headers['content-type'],
        body: text,
      };
    },

    async watch(path, query, onEvent, signal) {
      const res = await open({
        method: 'GET',
        path,
        query: { ...query, watch: ['true'] },
        accept: 'application/json',
        signal,
      });
      await readWatchStream(res, onEvent, signal, () =>
        connectionFailed(new Error('the watch stream sent a line that is not JSON')),
      );
    },

    async streamText(path, query, signal) {
      const res = await open({ method: 'GET', path, query, accept: '*/*', signal });
      const onAbort = () => res.destroy(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      res.once('close', () => signal.removeEventListener('abort', onAbort));
      res.setEncoding('utf8');
      return res;
    },

    close() {
      // Not agent.destroy(): that would cut requests other tasks still have in flight. Idle
      // sockets close now; busy ones close when their response ends; later requests get a new
      // agent.
      const closing = agent;
      agent = undefined;
      if (!closing) return;
      closing.keepSocketAlive = () => false as unknown as undefined;
      for (const sockets of Object.values(closing.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    },
  };
}
