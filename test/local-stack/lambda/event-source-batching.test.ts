import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { LocalLambdaFunction } from '../../../infra/local-stack/lambda/local-function.ts';
import {
  type SqsEventSource,
  type SqsEventSourceOptions,
  startSqsEventSource,
} from '../../../infra/local-stack/lambda/sqs-event-source.ts';
import { md5Hex } from '../../../infra/local-stack/sqs/md5.ts';
import {
  batchesSeen,
  collectLogs,
  createSqsFunction,
  type Queues,
  sleep,
  startQueues,
  waitFor,
} from './support.ts';

// One SQS second lasts 20 ms here: a 50 s batching window is one real second.
const secondMs = 20;

describe('local Lambda: the SQS event source gathers batches', () => {
  let queues: Queues;
  const running: { source?: SqsEventSource; fn?: LocalLambdaFunction } = {};
  before(async () => {
    queues = await startQueues(secondMs);
  });
  afterEach(async () => {
    await running.source?.stop({ force: true });
    await running.fn?.close();
  });
  after(async () => {
    await queues.close();
  });

  const start = async (
    queueUrl: string,
    settings: Omit<SqsEventSourceOptions, 'function' | 'sqs' | 'queueUrl'>,
  ) => {
    const logs = collectLogs();
    running.fn = createSqsFunction(1_000, logs);
    running.source = await startSqsEventSource({
      queueUrl,
      function: running.fn,
      sqs: queues.connection,
      sqsSecondMs: secondMs,
      ...settings,
    });
    return { logs, source: running.source };
  };

  test('the batch size caps every batch even when more records are waiting', async () => {
    const queueUrl = await queues.createQueue(100);
    await queues.send(
      queueUrl,
      Array.from({ length: 9 }, (_, i) => ({ n: i })),
    );
    const { logs, source } = await start(queueUrl, { batchSize: 3 });
    await waitFor('nine records deleted', () => source.stats().recordsDeleted === 9);
    const sizes = source.stats().invocations.map((invocation) => invocation.messageIds.length);
    assert.deepEqual(sizes, [3, 3, 3]);
    assert.deepEqual(
      batchesSeen(logs).map((batch) => batch.records.length),
      [3, 3, 3],
    );
  });

  test('the window gathers records that arrive within it into one batch', async () => {
    const queueUrl = await queues.createQueue(200);
    // Window 50 s = 1,000 ms; the three records arrive over ~200 ms. One poller: each of
    // Lambda's pollers gathers its own batch, so with several long-polling pollers records that
    // trickle in spread over their batches (small batches at low traffic, as on Lambda).
    const { logs, source } = await start(queueUrl, {
      batchSize: 100,
      maximumBatchingWindowSeconds: 50,
      scaling: { initialPollers: 1 },
    });
    await sleep(100);
    const sentAt = Date.now();
    for (let i = 0; i < 3; i += 1) {
      await queues.send(queueUrl, [{ n: i }]);
      await sleep(100);
    }
    await waitFor('three records deleted', () => source.stats().recordsDeleted === 3);
    const batches = batchesSeen(logs);
    assert.equal(batches.length, 1, JSON.stringify(batches));
    assert.equal(batches[0]?.records.length, 3);
    // Not invoked before the window (which starts with the first record) was over.
    const invokedAfterMs = (batches[0]?.at ?? 0) - sentAt;
    assert.ok(invokedAfterMs >= 950, `invoked ${invokedAfterMs} ms after the first send`);
  });

  test('a full batch is invoked without waiting for the window; over 10 records it takes several receives', async () => {
    const queueUrl = await queues.createQueue(500);
    await queues.send(
      queueUrl,
      Array.from({ length: 25 }, (_, i) => ({ n: i })),
    );
    const startedAt = Date.now();
    // One poller, so the batch is not shared between pollers (Lambda's are several).
    const { logs, source } = await start(queueUrl, {
      batchSize: 25,
      maximumBatchingWindowSeconds: 300,
      scaling: { initialPollers: 1 },
    });
    await waitFor('25 records deleted', () => source.stats().recordsDeleted === 25);
    const batches = batchesSeen(logs);
    assert.deepEqual(
      batches.map((batch) => batch.records.length),
      [25],
    );
    const invokedAfterMs = (batches[0]?.at ?? 0) - startedAt;
    assert.ok(invokedAfterMs < 3_000, `a full batch waited ${invokedAfterMs} ms (window 6,000)`);
  });

  test('records have the shape Lambda gives them', async () => {
    const queueUrl = await queues.createQueue(100);
    const body = JSON.stringify({ hello: 'world' });
    const [messageId] = await queues.send(queueUrl, [body], {
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'greeting' },
        raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
      },
    });
    const { logs, source } = await start(queueUrl, {});
    await waitFor('the record deleted', () => source.stats().recordsDeleted === 1);
    const seen = logs.json('batch-start')[0] as { event: { Records: Record<string, unknown>[] } };
    const record = seen.event.Records[0] as Record<string, unknown>;
    assert.deepEqual(Object.keys(record).sort(), [
      'attributes',
      'awsRegion',
      'body',
      'eventSource',
      'eventSourceARN',
      'md5OfBody',
      'md5OfMessageAttributes',
      'messageAttributes',
      'messageId',
      'receiptHandle',
    ]);
    assert.equal(record.messageId, messageId);
    assert.equal(record.body, body);
    assert.equal(record.md5OfBody, md5Hex(body));
    assert.equal(record.eventSource, 'aws:sqs');
    assert.equal(
      record.eventSourceARN,
      `arn:aws:sqs:us-east-1:123456789012:${queueUrl.split('/').pop()}`,
    );
    assert.equal(record.eventSourceARN, source.queueArn);
    assert.equal(record.awsRegion, 'us-east-1');
    const attributes = record.attributes as Record<string, string>;
    assert.equal(attributes.ApproximateReceiveCount, '1');
    for (const name of ['SentTimestamp', 'ApproximateFirstReceiveTimestamp', 'SenderId']) {
      assert.ok(attributes[name], `attribute ${name}`);
    }
    assert.deepEqual(record.messageAttributes, {
      kind: {
        stringValue: 'greeting',
        stringListValues: [],
        binaryListValues: [],
        dataType: 'String',
      },
      raw: {
        binaryValue: Buffer.from([1, 2, 3]).toString('base64'),
        stringListValues: [],
        binaryListValues: [],
        dataType: 'Binary',
      },
    });
  });
});
