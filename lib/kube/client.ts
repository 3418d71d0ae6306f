/**
 * Raw requests to one cluster's API server: retries (429, 5xx, a reset keep-alive connection, one
 * 401 with a fresh token), bounded bodies, watches and log streams. How a request reaches the
 * server (node:https, TLS, the token) is https-transport.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ErrorName, KubeConnectionError, KubeStatusError, TaskFailedError } from '../errors.ts';
import { computeBackoffDelayMs } from '../retry/backoff.ts';
import {
  isConnectFailureCode,
  isConnectionResetCode,
  isTransientStatus,
} from '../retry/transient.ts';
import type { EksTokenProvider } from './eks-token.ts';
import { parseResponseBody, readBody, readRetryAfterMs, statusTextOf } from './http-body.ts';
import {
  type HttpsAuthentication,
  type KubeRequest,
  makeEksAuthentication,
  makeHttpsTransport,
  type QueryParameters,
} from './https-transport.ts';
import { type KubeWatchEvent, readWatchStream } from './watch-stream.ts';

export type { HttpsAuthentication, KubeRequest, QueryParameters } from './https-transport.ts';
export type { KubeWatchEvent } from './watch-stream.ts';

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

/** Waits, or rejects with the signal's reason (not timers' generic AbortError) when aborted. */
const sleep = (delayMs: number, signal: AbortSignal): Promise<void> =>
  sleepFor(delayMs, undefined, { signal }).catch(() => {
    throw signal.reason;
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

  const transport = makeHttpsTransport(
    endpointUrl,
    options.kubeConfig ?? makeEksAuthentication(clusterName, options.caPem, options.tokens),
    connectTimeoutMs,
  );

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

  /**
   * Sends with retries and returns a 2xx response, unread. Retries follow client-go: 429 and 5xx
   * are repeated when the server sends Retry-After (honoured, capped), and for GET/HEAD also
   * without it (backoff), as are GET/HEAD that could not connect or met a reset connection; a 401
   * is repeated once with a freshly signed token (the cached one may have been refused for a clock
   * or credentials change).
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
        sent = await transport.send(request);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (error instanceof TaskFailedError) throw error;
        const code = (error as { code?: string }).code ?? '';
        // A GET that could not connect (a busy API server, a loaded node) or met a reset
        // keep-alive socket was never processed: it is tried again before the task fails, so a
        // carried wait's first read does not fail a Job that is running fine.
        if (
          idempotent &&
          (isConnectionResetCode(code) || isConnectFailureCode(code)) &&
          retries < maxRetries
        ) {
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

    close: () => transport.close(),
  };
}
