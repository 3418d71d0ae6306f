/**
 * The hand-off queue over Amazon SQS. The body holds a task token, so the queue must be encrypted
 * at rest (SqsManagedSseEnabled in serverless.yml) and reached over TLS only.
 */
import { SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import type { HandOffQueue } from '../worker/hand-off-message.ts';

/** Options of {@link makeSqsHandOffQueue}. */
export interface SqsHandOffQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

/** Sends hand-off messages with SendMessage (DelaySeconds per message: at most 900). */
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
});

/** An SQS client for the hand-off queue; endpoints and credentials come from the SDK's chain. */
export const makeSqsClient = (config: SQSClientConfig = {}): SQSClient =>
  new SQSClient({ maxAttempts: 5, ...config });
