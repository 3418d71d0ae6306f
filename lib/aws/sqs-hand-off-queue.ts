/**
 * The hand-off queue over Amazon SQS: the {@link LeaseQueue} port that parked and handed-off tasks
 * are sent to and that carriers (lib/worker/carrier.ts) receive and lease them from; the
 * composition root (lib/hosts/compose.ts) wires it. The body holds a task token, so the queue must
 * be encrypted at rest (SqsManagedSseEnabled in serverless.yml) and reached over TLS only.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import type { LeaseChangeFailure, LeasedMessage, LeaseQueue } from '../worker/ports.ts';
import { readErrorName } from '../worker/sfn-errors.ts';

/** Options of {@link makeSqsHandOffQueue}. */
export interface SqsHandOffQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

/** SQS's bounds: DelaySeconds 0-900, VisibilityTimeout 0-43,200, 10 entries a batch. */
const clampSeconds = (seconds: number, max: number): number =>
  Math.max(0, Math.min(max, Math.round(seconds)));
const maxVisibilitySeconds = 43_200;
const maxBatchEntries = 10;

/**
 * Errors that say this receipt no longer holds the message: it was deleted, or its lease expired
 * and (perhaps) another carrier received it. Anything else (throttling, 5xx) may pass.
 */
const lostLeaseErrors = new Set([
  'ReceiptHandleIsInvalid',
  'MessageNotInflight',
  'InvalidParameterValue',
  'AWS.SimpleQueueService.MessageNotInflight',
]);

/**
 * Sends (SendMessage, DelaySeconds per message), receives with a lease (ReceiveMessage with
 * VisibilityTimeout), renews or releases leases (ChangeMessageVisibility(Batch)) and deletes.
 */
export const makeSqsHandOffQueue = (options: SqsHandOffQueueOptions): LeaseQueue => {
  const { client, queueUrl } = options;
  const changeBatch = async (
    entries: readonly { receiptHandle: string; visibilitySeconds: number }[],
  ): Promise<LeaseChangeFailure[]> => {
    const output = await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map((entry, index) => ({
          Id: String(index),
          ReceiptHandle: entry.receiptHandle,
          VisibilityTimeout: clampSeconds(entry.visibilitySeconds, maxVisibilitySeconds),
        })),
      }),
    );
    return (output.Failed ?? []).map((failed) => ({
      receiptHandle: entries[Number(failed.Id)]?.receiptHandle ?? '',
      errorName: failed.Code ?? 'Unknown',
      lost: lostLeaseErrors.has(failed.Code ?? ''),
    }));
  };
  return {
    send: async (body, { delaySeconds }) => {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          DelaySeconds: clampSeconds(delaySeconds, 900),
        }),
      );
    },
    changeVisibility: async (receiptHandle, visibilitySeconds) => {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: clampSeconds(visibilitySeconds, maxVisibilitySeconds),
        }),
      );
    },
    receive: async ({ maxMessages, waitSeconds, leaseSeconds }) => {
      const output = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(maxBatchEntries, maxMessages)),
          WaitTimeSeconds: clampSeconds(waitSeconds, 20),
          VisibilityTimeout: clampSeconds(leaseSeconds, maxVisibilitySeconds),
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      return (output.Messages ?? []).flatMap((message): LeasedMessage[] =>
        message.MessageId === undefined ||
        message.ReceiptHandle === undefined ||
        message.Body === undefined
          ? []
          : [
              {
                messageId: message.MessageId,
                body: message.Body,
                receiptHandle: message.ReceiptHandle,
                receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1,
              },
            ],
      );
    },
    changeVisibilities: async (entries) => {
      const chunks: (typeof entries)[] = [];
      for (let i = 0; i < entries.length; i += maxBatchEntries) {
        chunks.push(entries.slice(i, i + maxBatchEntries));
      }
      const settled = await Promise.allSettled(chunks.map(changeBatch));
      if (chunks.length > 0 && settled.every((result) => result.status === 'rejected')) {
        throw (settled[0] as PromiseRejectedResult).reason;
      }
      // A chunk whose call failed as a whole keeps its leases as they were: none is known lost.
      return settled.flatMap((result, index) =>
        result.status === 'fulfilled'
          ? result.value
          : (chunks[index] ?? []).map((entry) => ({
              receiptHandle: entry.receiptHandle,
              errorName: readErrorName(result.reason),
              lost: false,
            })),
      );
    },
    delete: async (receiptHandle) => {
      await client.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }),
      );
    },
  };
};

/** An SQS client for the hand-off queue; endpoints and credentials come from the SDK's chain. */
export const makeSqsClient = (config: SQSClientConfig = {}): SQSClient =>
  new SQSClient({ maxAttempts: 5, ...config });
