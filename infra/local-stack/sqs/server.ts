import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { verifySigV4Request } from '../aws-protocol/sigv4-verifier.ts';
import { sendAwsAnswer } from '../http/aws-answer.ts';
import { clientGoneSignal } from '../http/client-gone.ts';
import { FaultQueue, type OperationFaults, operationFaults } from '../http/fault-queue.ts';
import { loopbackEndpoint, serveOnLoopback } from '../http/loopback-server.ts';
import { parseJsonObjectBody, readCappedBody } from '../http/request-body.ts';
import { localAccountId, localRegion } from '../identities.ts';
import { parseRedrivePolicy } from './attributes.ts';
import { SqsError } from './errors.ts';
import type { MessageAttributeValue } from './md5.ts';
import { makeOperations } from './operations.ts';
import { parseQueryRequest, toQueryError, toQueryResponse } from './query-protocol.ts';
import { type MessageState, type Queue, QueueStore, type StoredMessage } from './queues.ts';

export interface SqsOptions {
  /** @default 0 (a random free port) */
  port?: number;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '123456789012' */
  accountId?: string;
  /**
   * The length of one SQS second in milliseconds, for every duration the API counts in seconds
   * (delays, visibility timeouts, long-poll waits, retention). Tests shorten it to run the same
   * semantics quickly; timestamps stay wall-clock.
   * @default 1000
   */
  secondMs?: number;
  /** How long after a PurgeQueue another is refused. @default 60_000 (SQS's 60 s) */
  purgeCooldownMs?: number;
}

/** One message as tests see it. */
export interface MessageSnapshot {
  messageId: string;
  body: string;
  messageAttributes: Readonly<Record<string, MessageAttributeValue>>;
  state: MessageState;
  receiveCount: number;
  sentAt: Date;
  groupId: string | undefined;
  /** Set on a message redriven to a dead-letter queue: the queue it came from. */
  deadLetterSourceArn: string | undefined;
}

export interface QueueSnapshot {
  name: string;
  url: string;
  arn: string;
  attributes: Readonly<Record<string, string>>;
  visible: MessageSnapshot[];
  inFlight: MessageSnapshot[];
  delayed: MessageSnapshot[];
}

/** A fault to answer instead of running an operation, for testing a client's error handling. */
export interface InjectedFault {
  /** The error shape name, e.g. `ServiceUnavailable`, `RequestThrottled`. */
  type: string;
  /** @default the type */
  queryCode?: string;
  /** @default 'Injected fault' */
  message?: string;
  /** @default 500 */
  statusCode?: number;
}

export interface LocalSqs {
  /** `http://127.0.0.1:<port>`, for `endpoint` in the SDK or `--endpoint-url` in the CLI. */
  endpoint: string;
  /** Queue inspection for tests: what a Lambda event source or a worker would see. */
  inspect: {
    queueNames(): string[];
    /** A queue by name or URL; undefined when it does not exist. */
    queue(nameOrUrl: string): QueueSnapshot | undefined;
    /** Every message in the dead-letter queue named by this queue's RedrivePolicy. */
    deadLetters(nameOrUrl: string): MessageSnapshot[];
  };
  faults: OperationFaults<InjectedFault>;
  /**
   * Requests received per action (`SendMessage`, `ReceiveMessage`, ...), counted once the request
   * is signed correctly and its action read, whatever the answer (an error counts too, a batch
   * counts once): what AWS bills. Both protocols count alike. `clear()` it to start over.
   */
  requestCounts: Map<string, number>;
  /** Answers held long polls with no messages and closes the server. */
  close(): Promise<void>;
}

const jsonTargetPrefix = 'AmazonSQS.';
const jsonContentType = 'application/x-amz-json-1.0';
// The largest message (1 MiB) plus attributes and the JSON envelope, or ten of them in a batch.
const maxRequestBytes = 12 * 1024 * 1024;

/**
 * Starts the local SQS service on 127.0.0.1. It serves AWS JSON 1.0 (the current SDK, query
 * compatible errors included) and the query protocol with XML (the AWS CLI v2.9), verifies every
 * request's SigV4 signature against the local identities, and names queues
 * `http://127.0.0.1:<port>/<account>/<name>`.
 */
export async function startSqs(options: SqsOptions = {}): Promise<LocalSqs> {
  const region = options.region ?? localRegion;
  // Listening comes first: queue URLs carry the port.
  const listening = await serveOnLoopback(createServer(), { port: options.port });
  const endpoint = loopbackEndpoint(listening.port);
  const store = new QueueStore({
    baseUrl: endpoint,
    region,
    accountId: options.accountId ?? localAccountId,
    secondMs: options.secondMs ?? 1000,
  });
  const operations = makeOperations(store, { purgeCooldownMs: options.purgeCooldownMs ?? 60_000 });
  const faults = new FaultQueue<string, InjectedFault>();
  const closing = new AbortController();
  const requestCounts = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.headers['x-amz-target'];
    const isJson = typeof target === 'string';
    const reply = (status: number, payload: string, headers: Record<string, string> = {}): void =>
      sendAwsAnswer(res, status, isJson ? jsonContentType : 'text/xml', payload, { headers });
    try {
      // Inside the try: a body over the cap is an SQS error answer, not a rejection that ends
      // the process the stand-in runs in.
      const body = await readBody(req);
      const verification = await verifySigV4Request(
        { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
        { service: 'sqs', region },
      );
      if (!verification.ok) {
        throw new SqsError(verification.code, verification.message, { statusCode: 403 });
      }
      let action: string;
      let input: Record<string, unknown>;
      if (isJson) {
        action = target.startsWith(jsonTargetPrefix) ? target.slice(jsonTargetPrefix.length) : '';
        input = parseJsonObject(body);
      } else {
        const params = new URLSearchParams(new URL(req.url ?? '/', endpoint).search);
        for (const [key, value] of new URLSearchParams(body.toString('utf8')))
          params.append(key, value);
        ({ action, input } = parseQueryRequest(params));
      }
      requestCounts.set(action, (requestCounts.get(action) ?? 0) + 1);
      const operation = operations[action];
      if (!operation) {
        throw new SqsError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
      }
      const injected = faults.take(action);
      if (injected) {
        throw new SqsError(injected.type, injected.message ?? 'Injected fault', {
          statusCode: injected.statusCode ?? 500,
          ...(injected.queryCode ? { queryCode: injected.queryCode } : {}),
        });
      }
      const abort = AbortSignal.any([closing.signal, clientGoneSignal(res)]);
      const output = await operation(input, {
        abort,
        callerId: verification.identity.accessKeyId,
      });
      reply(200, isJson ? JSON.stringify(output) : toQueryResponse(action, output));
    } catch (caught) {
      // Never echo the request: bodies and receipt handles stay out of answers and logs.
      const error =
        caught instanceof SqsError
          ? caught
          : new SqsError('InternalError', 'We encountered an internal error. Please try again.', {
              statusCode: 500,
            });
      if (isJson) {
        reply(
          error.statusCode,
          JSON.stringify({ __type: `com.amazonaws.sqs#${error.type}`, message: error.message }),
          { 'x-amzn-query-error': `${error.queryCode};${error.fault}` },
        );
      } else {
        reply(error.statusCode, toQueryError(error));
      }
    }
  };
  listening.server.on('request', (req, res) => {
    void handle(req, res);
  });

  const findQueue = (nameOrUrl: string): Queue | undefined => {
    if (!nameOrUrl.includes('/')) return store.findByName(nameOrUrl);
    try {
      return store.findByUrl(nameOrUrl);
    } catch {
      return undefined;
    }
  };
  const snapshotOf = (message: StoredMessage): MessageSnapshot => ({
    messageId: message.messageId,
    body: message.body,
    messageAttributes: message.messageAttributes,
    state: store.stateOf(message),
    receiveCount: message.receiveCount,
    sentAt: new Date(message.sentAtMs),
    groupId: message.groupId,
    deadLetterSourceArn: message.deadLetterSourceArn,
  });

  return {
    endpoint,
    inspect: {
      queueNames: () => store.list().map((queue) => queue.name),
      queue: (nameOrUrl) => {
        const queue = findQueue(nameOrUrl);
        if (!queue) return undefined;
        store.count(queue); // drops messages past retention first
        const messages = queue.messages.map(snapshotOf);
        return {
          name: queue.name,
          url: queue.url,
          arn: queue.arn,
          attributes: { ...queue.attributes },
          visible: messages.filter((m) => m.state === 'visible'),
          inFlight: messages.filter((m) => m.state === 'inFlight'),
          delayed: messages.filter((m) => m.state === 'delayed'),
        };
      },
      deadLetters: (nameOrUrl) => {
        const queue = findQueue(nameOrUrl);
        const policy = parseRedrivePolicy(queue?.attributes.RedrivePolicy);
        const target = policy ? store.findByArn(policy.deadLetterTargetArn) : undefined;
        return target ? target.messages.map(snapshotOf) : [];
      },
    },
    faults: operationFaults(faults),
    requestCounts,
    close: async () => {
      // Held polls are answered first; the server's close lets those answers flush.
      closing.abort();
      store.close();
      await listening.close();
    },
  };
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  readCappedBody(
    req,
    maxRequestBytes,
    () =>
      new SqsError('RequestEntityTooLarge', 'Request body is too large.', {
        statusCode: 413,
      }),
  );

const parseJsonObject = (body: Buffer): Record<string, unknown> =>
  parseJsonObjectBody(body, {
    notJson: () => new SqsError('SerializationException', 'Request body is not valid JSON.'),
    notObject: () => new SqsError('SerializationException', 'Request body must be a JSON object.'),
  });
