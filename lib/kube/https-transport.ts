/**
 * How a request reaches one cluster's API server: one attempt, with an EKS bearer token (or,
 * in-cluster, whatever a KubeConfig authenticates with). Retries and bodies are client.ts's.
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
import tls from 'node:tls';
import type { EksTokenProvider } from './eks-token.ts';

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

/** A response (any status, body unread) and the Authorization header that was sent with it. */
export interface SentRequest {
  res: IncomingMessage;
  authorization: string;
}

/** One cluster's connections. */
export interface HttpsTransport {
  /** One attempt, no retries; rejects with Node's error (its `code`) when no answer came. */
  send(request: KubeRequest): Promise<SentRequest>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

const encodeQuery = (query: QueryParameters | undefined): string => {
  const pairs = Object.entries(query ?? {}).flatMap(([key, values]) =>
    values.map((value) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`),
  );
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
};

/** The CA and an EKS bearer token per request: all the Lambda hosts need. */
export const makeEksAuthentication = (
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

/** Sends requests to `endpointUrl` over one keep-alive agent, authenticated per request. */
export const makeHttpsTransport = (
  endpointUrl: URL,
  authentication: HttpsAuthentication,
  connectTimeoutMs: number,
): HttpsTransport => {
  // client-node builds a fresh, non-keep-alive Agent on every applyToHTTPSOptions call; one
  // keep-alive Agent per cluster (same CA) avoids a TLS handshake per request and per watch.
  let agent: https.Agent | undefined;
  // Without it every new connection builds its own TLS context from the CA (and client
  // certificate) text: a millisecond each, paid in bursts when thousands of Jobs end together.
  let secureContext: tls.SecureContext | undefined;

  /** One attempt: resolves with the response (any status) and the token that was sent. */
  const send = async (request: KubeRequest): Promise<SentRequest> => {
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
    secureContext ??= tls.createSecureContext({
      ca: httpsOptions.ca,
      cert: httpsOptions.cert,
      key: httpsOptions.key,
    });
    const authorization = String(
      (httpsOptions.headers as Record<string, unknown> | undefined)?.Authorization ?? '',
    );
    return new Promise((resolve, reject) => {
      // `secureContext` reaches tls.connect through the agent (Node's types omit it here).
      const requestOptions: https.RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
        ...httpsOptions,
        agent,
        secureContext,
        method: request.method,
        protocol: 'https:',
        hostname: endpointUrl.hostname.replace(/^\[|\]$/g, ''),
        port: endpointUrl.port || 443,
        path: `${request.path}${encodeQuery(request.query)}`,
        signal: request.signal,
      };
      const req = https.request(requestOptions);
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

  return {
    send,
    close() {
      // Not agent.destroy(): that would cut requests other tasks still have in flight. Idle
      // sockets close now; busy ones close when their response ends; later requests get a new
      // agent.
      const closing = agent;
      agent = undefined;
      secureContext = undefined;
      if (!closing) return;
      closing.keepSocketAlive = () => false as unknown as undefined;
      for (const sockets of Object.values(closing.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    },
  };
};
