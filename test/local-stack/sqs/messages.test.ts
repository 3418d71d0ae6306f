import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { md5Hex } from '../../../infra/local-stack/sqs/md5.ts';
import type { LocalSqs } from '../../../infra/local-stack/sqs/server.ts';
import {
  makeClient,
  rejectsWith,
  sleep,
  startTestSqs,
  testSecondMs,
  uniqueName,
} from './support.ts';

describe('local SQS: messages', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  before(async () => {
    sqs = await startTestSqs({ purgeCooldownMs: 60_000 });
    client = makeClient(sqs.endpoint);
  });
  after(async () => {
    client.destroy();
    await sqs.close();
  });

  const create = async (attributes?: Record<string, string>, name = uniqueName('q')) =>
    (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
      .QueueUrl as string;
  const send = (QueueUrl: string, MessageBody: string, DelaySeconds?: number) =>
    client.send(new SendMessageCommand({ QueueUrl, MessageBody, DelaySeconds }));
  const receive = (
    QueueUrl: string,
    extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {},
  ): Promise<ReceiveMessageCommandOutput> =>
    client.send(new ReceiveMessageCommand({ QueueUrl, ...extra }));
  const bodies = (output: ReceiveMessageCommandOutput): string[] =>
    (output.Messages ?? []).map((m) => m.Body ?? '');

  test('SendMessage answers the body MD5 and a message id; ReceiveMessage returns the same message', async () => {
    const url = await create();
    const sent = await send(url, 'héllo wörld');
    assert.equal(sent.MD5OfMessageBody, md5Hex('héllo wörld'));
    const { Messages } = await receive(url);
    assert.equal(Messages?.length, 1);
    assert.equal(Messages?.[0]?.MessageId, sent.MessageId);
    assert.equal(Messages?.[0]?.Body, 'héllo wörld');
    assert.equal(Messages?.[0]?.MD5OfBody, sent.MD5OfMessageBody);
  });

  test('message attributes round-trip, filtered by MessageAttributeNames, with their MD5', async () => {
    const url = await create();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'with attributes',
        MessageAttributes: {
          'trace.id': { DataType: 'String', StringValue: 'abc' },
          count: { DataType: 'Number', StringValue: '42' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 255]) },
        },
      }),
    );
    assert.match(sent.MD5OfMessageAttributes ?? '', /^[0-9a-f]{32}$/);
    const all = await receive(url, { MessageAttributeNames: ['All'], VisibilityTimeout: 0 });
    const message = all.Messages?.[0];
    assert.equal(message?.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.equal(message?.MessageAttributes?.count?.StringValue, '42');
    assert.deepEqual([...(message?.MessageAttributes?.blob?.BinaryValue ?? [])], [0, 1, 255]);
    const some = await receive(url, { MessageAttributeNames: ['trace.*'] });
    assert.deepEqual(Object.keys(some.Messages?.[0]?.MessageAttributes ?? {}), ['trace.id']);
    assert.notEqual(some.Messages?.[0]?.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  });

  test('system attributes: SentTimestamp, ApproximateReceiveCount and the first receive time', async () => {
    const url = await create();
    const before = Date.now();
    await send(url, 'counted');
    const first = await receive(url, {
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      VisibilityTimeout: 0,
    });
    const attributes = first.Messages?.[0]?.Attributes ?? {};
    assert.ok(Number(attributes.SentTimestamp) >= before);
    assert.equal(attributes.ApproximateReceiveCount, '1');
    assert.equal(attributes.ApproximateFirstReceiveTimestamp, undefined);
    const second = await receive(url, { AttributeNames: ['All'] });
    assert.equal(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '2');
    assert.ok(second.Messages?.[0]?.Attributes?.ApproximateFirstReceiveTimestamp);
  });

  test('a received message is invisible until its visibility timeout ends, then redelivered', async () => {
    const url = await create({ VisibilityTimeout: '1' });
    await send(url, 'again');
    const first = await receive(url);
    assert.deepEqual(bodies(first), ['again']);
    assert.deepEqual(bodies(await receive(url)), []);
    assert.equal(sqs.inspect.queue(url)?.inFlight.length, 1);
    await sleep(testSecondMs + 50);
    const second = await receive(url);
    assert.deepEqual(bodies(second), ['again']);
    assert.notEqual(second.Messages?.[0]?.ReceiptHandle, first.Messages?.[0]?.ReceiptHandle);
  });

  test('DeleteMessage removes a received message for good', async () => {
    const url = await create({ VisibilityTimeout: '1' });
    await send(url, 'done');
    const { Messages } = await receive(url);
    await client.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: Messages?.[0]?.ReceiptHandle }),
    );
    await sleep(testSecondMs + 50);
    assert.deepEqual(bodies(await receive(url)), []);
    assert.equal(sqs.inspect.queue(url)?.visible.length, 0);
  });

  test('DeleteMessage with a receipt handle that is not one fails with ReceiptHandleIsInvalid', async () => {
    const url = await create();
    await rejectsWith(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-handle' })),
      'ReceiptHandleIsInvalid',
    );
  });

  test('ChangeMessageVisibility to 0 makes an in-flight message visible at once', async () => {
    const url = await create({ VisibilityTimeout: '30' });
    await send(url, 'retry now');
    const { Messages } = await receive(url);
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: Messages?.[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    assert.deepEqual(bodies(await receive(url)), ['retry now']);
  });

  test('ChangeMessageVisibility on a message no longer in flight fails with MessageNotInflight', async () => {
    const url = await create({ VisibilityTimeout: '1' });
    await send(url, 'expired');
    const { Messages } = await receive(url);
    await sleep(testSecondMs + 50);
    await rejectsWith(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: Messages?.[0]?.ReceiptHandle,
          VisibilityTimeout: 10,
        }),
      ),
      'MessageNotInflight',
    );
  });

  test('a message sent with DelaySeconds stays delayed until the delay ends', async () => {
    const url = await create();
    await send(url, 'later', 2);
    assert.deepEqual(bodies(await receive(url)), []);
    assert.equal(sqs.inspect.queue(url)?.delayed.length, 1);
    await sleep(2 * testSecondMs + 50);
    assert.deepEqual(bodies(await receive(url)), ['later']);
  });

  test("the queue's DelaySeconds applies when a message names none", async () => {
    const url = await create({ DelaySeconds: '2' });
    await send(url, 'queue delay');
    assert.equal(sqs.inspect.queue(url)?.delayed.length, 1);
    await sleep(2 * testSecondMs + 50);
    assert.equal(sqs.inspect.queue(url)?.visible.length, 1);
  });

  test('DelaySeconds above 900 fails with InvalidParameterValue', async () => {
    const url = await create();
    await rejectsWith(send(url, 'too late', 901), 'InvalidParameterValue');
  });

  test('MaxNumberOfMessages above 10 fails with InvalidParameterValue', async () => {
    const url = await create();
    await rejectsWith(receive(url, { MaxNumberOfMessages: 11 }), 'InvalidParameterValue');
  });

  test('ReceiveMessage returns at most MaxNumberOfMessages, oldest first', async () => {
    const url = await create();
    for (const body of ['1', '2', '3', '4']) await send(url, body);
    assert.deepEqual(bodies(await receive(url, { MaxNumberOfMessages: 3 })), ['1', '2', '3']);
    assert.deepEqual(bodies(await receive(url, { MaxNumberOfMessages: 3 })), ['4']);
  });

  test('a long poll returns as soon as a message arrives', async () => {
    const url = await create();
    const started = Date.now();
    const polling = receive(url, { WaitTimeSeconds: 20 });
    await sleep(50);
    await send(url, 'arrived');
    const output = await polling;
    assert.deepEqual(bodies(output), ['arrived']);
    assert.ok(Date.now() - started < 10 * testSecondMs, 'returned before the wait ended');
  });

  test('a long poll returns a delayed message when its delay ends', async () => {
    const url = await create();
    await send(url, 'soon', 1);
    const output = await receive(url, { WaitTimeSeconds: 20 });
    assert.deepEqual(bodies(output), ['soon']);
  });

  test('a long poll with no message answers empty when the wait ends', async () => {
    const url = await create();
    const started = Date.now();
    const output = await receive(url, { WaitTimeSeconds: 2 });
    assert.equal(output.Messages, undefined);
    assert.ok(Date.now() - started >= 2 * testSecondMs - 10);
  });

  test('after maxReceiveCount receives a message is moved to the dead-letter queue', async () => {
    const dlqName = uniqueName('dlq');
    const dlqUrl = await create({}, dlqName);
    const url = await create({
      VisibilityTimeout: '0',
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:123456789012:${dlqName}`,
        maxReceiveCount: 2,
      }),
    });
    await send(url, 'poison');
    assert.deepEqual(bodies(await receive(url)), ['poison']);
    assert.deepEqual(bodies(await receive(url)), ['poison']);
    assert.deepEqual(bodies(await receive(url)), []);
    const deadLetters = sqs.inspect.deadLetters(url);
    assert.deepEqual(
      deadLetters.map((m) => m.body),
      ['poison'],
    );
    assert.equal(deadLetters[0]?.deadLetterSourceArn, sqs.inspect.queue(url)?.arn);
    const fromDlq = await receive(dlqUrl, { MessageSystemAttributeNames: ['All'] });
    assert.deepEqual(bodies(fromDlq), ['poison']);
    assert.equal(
      fromDlq.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn,
      sqs.inspect.queue(url)?.arn,
    );
  });

  test('SendMessageBatch enqueues every entry and reports failures per entry', async () => {
    const url = await create();
    const output = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'first' },
          { Id: 'b', MessageBody: 'second', DelaySeconds: 901 },
          { Id: 'c', MessageBody: 'third' },
        ],
      }),
    );
    assert.deepEqual(
      output.Successful?.map((e) => e.Id),
      ['a', 'c'],
    );
    assert.equal(output.Successful?.[0]?.MD5OfMessageBody, md5Hex('first'));
    assert.deepEqual(
      output.Failed?.map((e) => [e.Id, e.Code, e.SenderFault]),
      [['b', 'InvalidParameterValue', true]],
    );
    assert.deepEqual(bodies(await receive(url, { MaxNumberOfMessages: 10 })), ['first', 'third']);
  });

  test('SendMessageBatch refuses repeated entry ids with BatchEntryIdsNotDistinct', async () => {
    const url = await create();
    await rejectsWith(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'same', MessageBody: 'x' },
            { Id: 'same', MessageBody: 'y' },
          ],
        }),
      ),
      'BatchEntryIdsNotDistinct',
    );
  });

  test('SendMessageBatch refuses more than ten entries with TooManyEntriesInBatchRequest', async () => {
    const url = await create();
    const Entries = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }));
    await rejectsWith(
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries })),
      'TooManyEntriesInBatchRequest',
    );
  });

  test('DeleteMessageBatch deletes each entry and reports invalid handles per entry', async () => {
    const url = await create();
    await send(url, 'one');
    await send(url, 'two');
    const { Messages = [] } = await receive(url, { MaxNumberOfMessages: 10 });
    const output = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...Messages.map((m, i) => ({ Id: `ok${i}`, ReceiptHandle: m.ReceiptHandle })),
          { Id: 'bad', ReceiptHandle: 'garbage' },
        ],
      }),
    );
    assert.deepEqual(
      output.Successful?.map((e) => e.Id),
      ['ok0', 'ok1'],
    );
    assert.deepEqual(
      output.Failed?.map((e) => [e.Id, e.Code]),
      [['bad', 'ReceiptHandleIsInvalid']],
    );
    const snapshot = sqs.inspect.queue(url);
    assert.equal((snapshot?.visible.length ?? 0) + (snapshot?.inFlight.length ?? 0), 0);
  });

  test('PurgeQueue empties the queue; a second purge within 60 s fails with PurgeQueueInProgress', async () => {
    const url = await create();
    await send(url, 'a');
    await send(url, 'b', 5);
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    const snapshot = sqs.inspect.queue(url);
    assert.equal((snapshot?.visible.length ?? 0) + (snapshot?.delayed.length ?? 0), 0);
    await rejectsWith(
      client.send(new PurgeQueueCommand({ QueueUrl: url })),
      'PurgeQueueInProgress',
    );
  });

  test('a body with a character outside XML 1.0 fails with InvalidMessageContents', async () => {
    const url = await create();
    await rejectsWith(send(url, 'bell\u0007'), 'InvalidMessageContents');
  });

  test('a FIFO queue delivers a group in order and holds the group while a message is in flight', async () => {
    const url = await create(
      { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
      `${uniqueName('ordered')}.fifo`,
    );
    for (const body of ['g1-a', 'g1-b']) {
      await client.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: 'g1' }),
      );
    }
    await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'g2-a', MessageGroupId: 'g2' }),
    );
    // A duplicate body within the deduplication interval is accepted but not enqueued again.
    const duplicate = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'g2-a', MessageGroupId: 'g2' }),
    );
    assert.ok(duplicate.SequenceNumber);
    const first = await receive(url, { MaxNumberOfMessages: 1 });
    assert.deepEqual(bodies(first), ['g1-a']);
    assert.deepEqual(bodies(await receive(url, { MaxNumberOfMessages: 10 })), ['g2-a']);
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: url,
        ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
      }),
    );
    assert.deepEqual(bodies(await receive(url, { MaxNumberOfMessages: 10 })), ['g1-b']);
  });

  test('deleting with the receipt handle of an earlier receive leaves the redelivered message', async () => {
    const url = await create({ VisibilityTimeout: '1' });
    await send(url, 'redelivered');
    const first = await receive(url);
    await sleep(testSecondMs + 50);
    const second = await receive(url);
    assert.deepEqual(bodies(second), ['redelivered']);
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: url,
        ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
      }),
    );
    assert.equal(sqs.inspect.queue(url)?.inFlight.length, 1);
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: url,
        ReceiptHandle: second.Messages?.[0]?.ReceiptHandle,
      }),
    );
    assert.equal(sqs.inspect.queue(url)?.inFlight.length, 0);
  });

  test('messages older than MessageRetentionPeriod are dropped', async () => {
    // One SQS second of 1 ms makes the 60 s minimum retention last 60 ms.
    const fast = await startTestSqs({ secondMs: 1 });
    const fastClient = makeClient(fast.endpoint);
    try {
      const url = (
        await fastClient.send(
          new CreateQueueCommand({
            QueueName: uniqueName('retained'),
            Attributes: { MessageRetentionPeriod: '60' },
          }),
        )
      ).QueueUrl as string;
      await fastClient.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'old' }));
      assert.equal(fast.inspect.queue(url)?.visible.length, 1);
      await sleep(120);
      const output = await fastClient.send(new ReceiveMessageCommand({ QueueUrl: url }));
      assert.equal(output.Messages, undefined);
      assert.equal(fast.inspect.queue(url)?.visible.length, 0);
    } finally {
      fastClient.destroy();
      await fast.close();
    }
  });

  test('a held long poll is answered empty when the server closes', async () => {
    const own = await startTestSqs();
    const ownClient = makeClient(own.endpoint);
    try {
      const url = (await ownClient.send(new CreateQueueCommand({ QueueName: uniqueName('held') })))
        .QueueUrl as string;
      const polling = ownClient.send(
        new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }),
      );
      await sleep(50);
      await own.close();
      const output = await polling;
      assert.equal(output.Messages, undefined);
    } finally {
      ownClient.destroy();
    }
  });
});
