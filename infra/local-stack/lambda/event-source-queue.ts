/**
 * The event source's SQS calls, through the real AWS SDK as Lambda's pollers make them:
 * ReceiveMessage without a VisibilityTimeout (the queue's own applies) asking for every system and
 * message attribute, and DeleteMessageBatch in tens for the records a batch is done with.
 */
import { Agent } from 'node:http';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ReceiveMessages } from './batch-collector.ts';
import type { EventSourceRecorder } from './event-source-stats.ts';
import type { SqsEventRecord } from './sqs-records.ts';

/** Where the queue is served and who the mapping signs as (Lambda uses the function's role). */
export interface SqsConnection {
  readonly endpoint: string;
  /** The region the client signs for. @default 'us-east-1' (the local stack's) */
  readonly region?: string;
  readonly credentials: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/**
 * A client of its own with a socket for every poller: each holds a long poll open, and the SDK's
 * default pool (50 sockets) would queue pollers behind each other where Lambda's never wait.
 */
export const makeEventSourceClient = (connection: SqsConnection, pollers: number): SQSClient =>
  new SQSClient({
    endpoint: connection.endpoint,
    region: connection.region ?? 'us-east-1',
    credentials: connection.credentials,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: pollers + 16 }),
    }),
  });

/** The queue's attributes (ARN, visibility timeout, FIFO or not). */
export const readQueueAttributes = async (
  client: SQSClient,
  queueUrl: string,
): Promise<Record<string, string>> => {
  const answer = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
  );
  return answer.Attributes ?? {};
};

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * ReceiveMessage for the batch collector. A failure is counted and answered, after a pause of one
 * (scaled) second, with no messages, as Lambda's poller retries a failed poll; stopping aborts a
 * held long poll, which the local SQS ends without taking any message.
 */
export const makeReceiver = (
  client: SQSClient,
  queueUrl: string,
  options: { stopping: AbortSignal; secondMs: number; recorder: EventSourceRecorder },
): ReceiveMessages => {
  return async (maxMessages, waitSeconds): Promise<Message[]> => {
    if (options.stopping.aborted) return [];
    try {
      const answer = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitSeconds,
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: options.stopping },
      );
      const messages = answer.Messages ?? [];
      options.recorder.received(messages.length);
      return messages;
    } catch {
      if (options.stopping.aborted) return [];
      options.recorder.receiveFailed();
      await sleep(options.secondMs, options.stopping);
      return [];
    }
  };
};

/** Deletes records in batches of ten; answers how many SQS confirmed. Failures are counted. */
export const deleteRecords = async (
  client: SQSClient,
  queueUrl: string,
  records: readonly SqsEventRecord[],
  recorder: EventSourceRecorder,
): Promise<number> => {
  const chunks: SqsEventRecord[][] = [];
  for (let start = 0; start < records.length; start += 10) {
    chunks.push(records.slice(start, start + 10));
  }
  const deleted = await Promise.all(
    chunks.map(async (chunk) => {
      try {
        const answer = await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((record, index) => ({
              Id: String(index),
              ReceiptHandle: record.receiptHandle,
            })),
          }),
        );
        const failed = answer.Failed?.length ?? 0;
        if (failed > 0) recorder.deleteFailed(failed);
        return answer.Successful?.length ?? 0;
      } catch {
        recorder.deleteFailed(chunk.length);
        return 0;
      }
    }),
  );
  return deleted.reduce((sum, count) => sum + count, 0);
};
