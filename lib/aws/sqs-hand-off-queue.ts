/**
 * The hand-off queue over Amazon SQS. The body holds a task token, so the queue must be encrypted
 * at rest (SqsManagedSseEnabled in serverless.yml) and reached over TLS only.
 */
import {
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { makeQueueHandOff } from '../worker/hand-off-message.ts';
import type { HandOff, HandOffQueue } from '../worker/ports.ts';

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

/**
 * The hand-off a host uses when `EKS_WORKER_HANDOFF_QUEUE_URL` is set (the process host on
 * shutdown, like the Lambda poller): unfinished tasks go to the queue the resumer reads.
 */
export const makeSqsHandOff = (options: {
  queueUrl: string;
  delaySeconds: number;
  client?: SQSClient;
}): { handOff: HandOff; close(): void } => {
  const client = options.client ?? makeSqsClient();
  return {
    handOff: makeQueueHandOff({
      queue: makeSqsHandOffQueue({ client, queueUrl: options.queueUrl }),
      delaySeconds: options.delaySeconds,
    }),
    close: () => {
      if (!options.client) client.destroy();
    },
  };
};
