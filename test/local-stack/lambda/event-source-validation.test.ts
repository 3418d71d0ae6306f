import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createLocalFunction } from '../../../infra/local-stack/lambda/local-function.ts';
import {
  type SqsEventSourceOptions,
  startSqsEventSource,
} from '../../../infra/local-stack/lambda/sqs-event-source.ts';
import { fixture, type Queues, startQueues } from './support.ts';

const secondMs = 20;

describe('local Lambda: the SQS event source refuses what CreateEventSourceMapping refuses', () => {
  let queues: Queues;
  // No invocation happens here: the function never starts a sandbox.
  const fn = createLocalFunction({
    functionName: 'validated',
    handler: { modulePath: fixture('sqs-batch.ts') },
    timeoutMs: 1_000,
    logs: { onLine: () => {} },
  });
  before(async () => {
    queues = await startQueues(secondMs);
  });
  after(async () => {
    await fn.close();
    await queues.close();
  });

  const start = (queueUrl: string, settings: Partial<SqsEventSourceOptions> = {}) =>
    startSqsEventSource({
      queueUrl,
      function: fn,
      sqs: queues.connection,
      sqsSecondMs: secondMs,
      ...settings,
    });

  test('a queue visibility timeout shorter than the function timeout, in scaled seconds', async () => {
    // 1,000 ms of function timeout is 50 SQS seconds of 20 ms.
    const short = await queues.createQueue(49);
    await assert.rejects(start(short), {
      name: 'InvalidParameterValueException',
      message: 'Queue visibility timeout: 49 seconds is less than Function timeout: 50 seconds',
    });
    const equal = await queues.createQueue(50);
    const accepted = await start(equal);
    await accepted.stop();
    // With real seconds the same queue (49 s against a 1 s function) is fine.
    const unscaled = await start(short, { sqsSecondMs: 1000 });
    await unscaled.stop();
  });

  test('a batch size over 10 needs a batching window', async () => {
    const queueUrl = await queues.createQueue(100);
    await assert.rejects(start(queueUrl, { batchSize: 11 }), {
      name: 'InvalidParameterValueException',
      message:
        'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10',
    });
    const windowed = await start(queueUrl, { batchSize: 11, maximumBatchingWindowSeconds: 1 });
    await windowed.stop();
  });

  test('out-of-range settings', async () => {
    const queueUrl = await queues.createQueue(100);
    for (const settings of [
      { batchSize: 0 },
      { batchSize: 10_001, maximumBatchingWindowSeconds: 1 },
      { maximumBatchingWindowSeconds: 301 },
      { maximumConcurrency: 1 },
      { maximumConcurrency: 1001 },
    ]) {
      await assert.rejects(start(queueUrl, settings), { name: 'InvalidParameterValueException' });
    }
  });

  test('a FIFO queue (not simulated) and a queue that does not exist', async () => {
    const fifo = await queues.client.send(
      new CreateQueueCommand({
        QueueName: `lambda-${process.pid}.fifo`,
        Attributes: { FifoQueue: 'true', VisibilityTimeout: '100' },
      }),
    );
    await assert.rejects(start(fifo.QueueUrl as string), /standard queues only/);
    await assert.rejects(start(`${queues.sqs.endpoint}/123456789012/no-such-queue`), {
      name: 'QueueDoesNotExist',
    });
  });
});
