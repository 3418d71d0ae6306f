/**
 * A stand-in for the Amazon EKS control plane API on 127.0.0.1, speaking the REST-JSON protocol
 * the AWS SDK and the AWS CLI speak: SigV4-verified requests, camelCase JSON bodies, timestamps
 * as epoch seconds, errors named by `x-amzn-ErrorType`.
 *
 * Point a client at it with `new EKSClient({ endpoint })`, `AWS_ENDPOINT_URL_EKS=<endpoint>` or
 * `aws eks --endpoint-url <endpoint>`, signing with an identity from ../identities.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifySigV4Request } from '../aws-protocol/sigv4-verifier.ts';
import { sendAwsAnswer } from '../http/aws-answer.ts';
import { loopbackEndpoint, serveOnLoopback } from '../http/loopback-server.ts';
import { parseJsonObjectBody, readCappedBody } from '../http/request-body.ts';
import { localAccountId, localRegion } from '../identities.ts';
import {
  ControlPlaneState,
  defaultEksTimings,
  type EksTimings,
  type ProvisionCluster,
  type RegisteredCluster,
} from './control-plane.ts';
import { EksApiError, type EksErrorCode } from './errors.ts';
import { EksFaults, EksRequestCounters } from './faults.ts';
import { isJsonObject, type JsonObject } from './input.ts';
import type { ScriptedFailure } from './lifecycle.ts';
import { matchRoute, type Route } from './routes.ts';

export type {
  EksTimings,
  ProvisionCluster,
  ProvisionedCluster,
  RegisteredCluster,
} from './control-plane.ts';
export { defaultEksTimings } from './control-plane.ts';
export type { EksOperationName, InjectedFaultKind, OperationSelector } from './faults.ts';
export { EksFaults, EksOperation, EksRequestCounters, InjectedFault } from './faults.ts';
export type { ScriptedFailure, ScriptedOutcome } from './lifecycle.ts';
export { outcomeTagKey } from './lifecycle.ts';

export interface EksControlPlaneOptions {
  /** The region requests must be signed for; also used in ARNs. @default 'us-east-1' */
  region?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** Transition durations; each defaults to 300 ms. */
  timings?: Partial<EksTimings>;
  /** Starts a real API server for each cluster created through CreateCluster. */
  provisionCluster?: ProvisionCluster;
  /** Clusters that exist, ACTIVE, from the start. */
  clusters?: readonly RegisteredCluster[];
}

/** A running local EKS control plane. */
export interface EksControlPlane {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly region: string;
  /** Adds an ACTIVE cluster whose DescribeCluster answers this endpoint and CA. */
  registerCluster(cluster: RegisteredCluster): void;
  /** Queues a one-shot failure for a resource's next creation or deletion. */
  script(failure: ScriptedFailure): void;
  /** Throttles, 5xx answers and added latency for chosen operations. */
  readonly faults: EksFaults;
  /** Requests received per operation. */
  readonly counters: EksRequestCounters;
  /** Stops listening, cancels pending transitions, closes provisioned clusters. */
  close(): Promise<void>;
}

/** Larger bodies than any EKS request could need are refused rather than buffered. */
const maxBodyBytes = 1024 * 1024;

/** Starts the control plane on 127.0.0.1 and resolves once it listens. */
export async function startEksControlPlane(
  options: EksControlPlaneOptions = {},
): Promise<EksControlPlane> {
  const region = options.region ?? localRegion;
  const state = new ControlPlaneState({
    location: { region, accountId: localAccountId },
    timings: { ...defaultEksTimings, ...options.timings },
    ...(options.provisionCluster ? { provisionCluster: options.provisionCluster } : {}),
  });
  for (const cluster of options.clusters ?? []) state.registerCluster(cluster);
  const faults = new EksFaults();
  const counters = new EksRequestCounters();

  const server = createServer((req, res) => {
    counters.recordReceived();
    handleRequest(req, res, { state, faults, counters, region }).catch((error: unknown) => {
      // Only reached if writing the answer itself failed (client gone): nothing left to tell it.
      if (!res.headersSent) {
        sendError(res, randomUUID(), new EksApiError('ServerException', String(error)));
      } else res.destroy();
    });
  });
  // A request Node's parser refuses (431 for an over-long URL, 400) was still sent by the client:
  // count it, then answer as Node does by default. Socket errors (resets) are not requests.
  // The parser may complain more than once about one refused request (the rest of it still
  // arriving): one count per socket.
  const refusedSockets = new WeakSet<object>();
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const parserError = error.code?.startsWith('HPE_') === true;
    if (parserError && !refusedSockets.has(socket)) counters.recordReceived();
    refusedSockets.add(socket);
    if (parserError && socket.writable) {
      const status =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    } else socket.destroy();
  });
  const listening = await serveOnLoopback(server, { port: options.port });

  return {
    endpoint: loopbackEndpoint(listening.port),
    region,
    registerCluster: (cluster) => state.registerCluster(cluster),
    script: (failure) => state.script(failure),
    faults,
    counters,
    async close() {
      await listening.close();
      await state.close();
    },
  };
}

interface Context {
  state: ControlPlaneState;
  faults: EksFaults;
  counters: EksRequestCounters;
  region: string;
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
): Promise<void> {
  const requestId = randomUUID();
  let body: Buffer;
  try {
    body = await readCappedBody(
      req,
      maxBodyBytes,
      () => new EksApiError('SerializationException', 'Request body too large.'),
    );
  } catch (error) {
    // Only the size refusal is answered here; a failed read (client gone) is the caller's.
    if (!(error instanceof EksApiError)) throw error;
    sendError(res, requestId, error);
    return;
  }
  const verification = await verifySigV4Request(
    { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
    { service: 'eks', region: ctx.region },
  );
  if (!verification.ok) {
    sendError(
      res,
      requestId,
      new EksApiError(toAuthErrorCode(verification.code), verification.message),
    );
    return;
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  let route: Route | undefined;
  try {
    route = matchRoute(req.method ?? 'GET', url.pathname);
  } catch (error) {
    sendError(res, requestId, asEksError(error));
    return;
  }
  if (!route) {
    sendError(
      res,
      requestId,
      new EksApiError(
        'UnknownOperationException',
        `No operation matches ${req.method} ${url.pathname}`,
      ),
    );
    return;
  }
  ctx.counters.record(route.operation);
  const latencyMs = ctx.faults.latencyMsFor(route.operation);
  if (latencyMs > 0) await sleep(latencyMs);
  const fault = ctx.faults.takeFault(route.operation);
  if (fault) {
    sendError(res, requestId, fault);
    return;
  }
  try {
    const input = parseJsonBody(req.method ?? 'GET', body);
    const output = route.run(ctx.state, input, url.searchParams);
    sendJson(res, 200, requestId, output);
  } catch (error) {
    sendError(res, requestId, asEksError(error));
  }
}

function parseJsonBody(method: string, body: Buffer): JsonObject {
  if (method !== 'POST') return {};
  return parseJsonObjectBody(body, {
    notJson: () => new EksApiError('SerializationException', 'The request body is not valid JSON.'),
    notObject: () =>
      new EksApiError('SerializationException', 'The request body must be a JSON object.'),
  });
}

/**
 * AWS's front door names signature problems with these shapes. An expired signature is an
 * `InvalidSignatureException` ("Signature expired: ...") on REST-JSON services.
 */
const toAuthErrorCode = (code: string): EksErrorCode => {
  switch (code) {
    case 'MissingAuthenticationToken':
      return 'MissingAuthenticationTokenException';
    case 'IncompleteSignature':
      return 'IncompleteSignatureException';
    case 'UnrecognizedClientException':
      return 'UnrecognizedClientException';
    default:
      return 'InvalidSignatureException';
  }
};

const asEksError = (error: unknown): EksApiError =>
  error instanceof EksApiError
    ? error
    : new EksApiError('ServerException', `Internal error: ${(error as Error)?.message ?? error}`);

function sendError(res: ServerResponse, requestId: string, error: EksApiError): void {
  sendAwsAnswer(res, error.statusCode, 'application/json', JSON.stringify(error.toBody()), {
    requestId,
    headers: { 'x-amzn-errortype': error.code },
  });
}

function sendJson(
  res: ServerResponse,
  statusCode: number,
  requestId: string,
  output: JsonObject,
): void {
  sendAwsAnswer(res, statusCode, 'application/json', JSON.stringify(toWire(output)), {
    requestId,
  });
}

/** Deep copy with timestamps as epoch seconds, as the EKS wire format has them. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) out[key] = toWire(member);
    }
    return out;
  }
  return value;
}
