/**
 * The hand-off queue over Amazon SQS: the {@link HandOffQueue} port that the worker's `HandOff`
 * (`makeQueueHandOff` in lib/worker/hand-off-message.ts) and the resumer's re-queues send to; the
 * composition root (lib/hosts/compose.ts) wires them. The body holds a task token, so the queue
 * must be encrypted at rest (SqsManagedSseEnabled in serverless.yml) and reached over TLS only.
 */
import {
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import type { HandOffQueue } from '../worker/ports.ts';

/** Options of {@link makeSqsHandOffQueue}. */
export interface SqsHandOffQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

/**
 * Sends hand-off messages with SendMessage (DelaySeconds per message: at most 900) and changes
 * a received message's visibility with ChangeMessageVisibility (0 to 43,200 s).
 */
export const makeSqsHandOffQueue = (options: SqsHandOffQueueOptions): HandOffQueue => ({
  send: async (body, { delaySeconds }) => {
    await options.client.send(
      new SendMessageCommand({
        QueueUrl: options.queueUrl,
        MessageBody: body,
        DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))),
      }),
    );
  },
  changeVisibility: async (receiptHandle, visibilitySeconds) => {
    await options.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: options.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(visibilitySeconds))),
      }),
    );
  },
});

/** An SQS client for the hand-off queue; endpoints and credentials come from the SDK's chain. */
export const makeSqsClient = (config: SQSClientConfig = {}): SQSClient =>
  new SQSClient({ maxAttempts: 5, ...config });
