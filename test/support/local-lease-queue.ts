/**
 * A hand-off queue on the local SQS, reached through the production adapter
 * (`makeSqsHandOffQueue`), with its dead-letter queue: what carrier and resumer tests lease from.
 * SQS seconds are scaled down (`secondMs`) so leases and redeliveries take milliseconds.
 */
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localAccountId, localRegion } from '../../infra/local-stack/identities.ts';
import { type LocalSqs, type QueueSnapshot, startSqs } from '../../infra/local-stack/sqs/server.ts';
import { makeSqsHandOffQueue } from '../../lib/aws/sqs-hand-off-queue.ts';
import type { LeaseQueue } from '../../lib/worker/ports.ts';
import { adminSdkConfig } from './local-aws.ts';

export interface LocalLeaseQueue {
  readonly sqs: LocalSqs;
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** The production adapter over the local queue. */
  readonly queue: LeaseQueue;
  /** The length of one SQS second here, in ms. */
  readonly secondMs: number;
  /** The queue as it is now (visible, in flight, delayed). */
  snapshot(): QueueSnapshot;
  /** Bodies of every message in the queue, whatever its state, parsed. */
  messages(): Record<string, unknown>[];
  /** Another, empty hand-off queue on the same server (a test's own, free of leftovers). */
  nextQueue(): Promise<LocalLeaseQueue>;
  /** Closes the server (every queue of it). */
  close(): Promise<void>;
}

interface QueueOptions {
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

export const startLocalLeaseQueue = async (
  options: QueueOptions & { secondMs?: number } = {},
): Promise<LocalLeaseQueue> => {
  const secondMs = options.secondMs ?? 20;
  const sqs = await startSqs({ secondMs });
  const client = new SQSClient(adminSdkConfig(sqs.endpoint));
  let queues = 0;
  const makeQueue = async (): Promise<LocalLeaseQueue> => {
    queues += 1;
    const name = `handoff-${queues}`;
    await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const created = await client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 900),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: `arn:aws:sqs:${localRegion}:${localAccountId}:${name}-dlq`,
            maxReceiveCount: options.maxReceiveCount ?? 5,
          }),
        },
      }),
    );
    const queueUrl = created.QueueUrl as string;
    const snapshot = (): QueueSnapshot => {
      const found = sqs.inspect.queue(queueUrl);
      if (found === undefined) throw new Error('the hand-off queue is gone');
      return found;
    };
    return {
      sqs,
      client,
      queueUrl,
      queue: makeSqsHandOffQueue({ client, queueUrl }),
      secondMs,
      snapshot,
      messages: () => {
        const { visible, inFlight, delayed } = snapshot();
        return [...visible, ...inFlight, ...delayed].map(
          (message) => JSON.parse(message.body) as Record<string, unknown>,
        );
      },
      nextQueue: makeQueue,
      close: async () => {
        client.destroy();
        await sqs.close();
      },
    };
  };
  return makeQueue();
};
