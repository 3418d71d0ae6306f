import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalSqs } from '../../../infra/local-stack/sqs/server.ts';
import { makeClient, rejectsWith, startTestSqs, uniqueName } from './support.ts';

describe('local SQS: request counts by action', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  before(async () => {
    sqs = await startTestSqs();
    client = makeClient(sqs.endpoint);
  });
  after(async () => {
    client.destroy();
    await sqs.close();
  });

  test('counts each signed request once by its action, errors included, a batch as one', async () => {
    sqs.requestCounts.clear();
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: uniqueName('counted') }),
    );
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one' }));
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'two' }));
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
    );
    assert.equal(Messages.length, 2);
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    await rejectsWith(
      client.send(new SendMessageCommand({ QueueUrl: `${QueueUrl}-missing`, MessageBody: 'x' })),
      'QueueDoesNotExist',
    );
    assert.deepEqual(Object.fromEntries(sqs.requestCounts), {
      CreateQueue: 1,
      SendMessage: 3,
      ReceiveMessage: 1,
      DeleteMessageBatch: 1,
    });
  });

  test('does not count a request whose signature fails', async () => {
    sqs.requestCounts.clear();
    const response = await fetch(sqs.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.ListQueues',
      },
      body: '{}',
    });
    assert.equal(response.status, 403);
    assert.equal(sqs.requestCounts.size, 0);
  });

  test('clear() starts the counts over', async () => {
    await client.send(new CreateQueueCommand({ QueueName: uniqueName('again') }));
    assert.ok((sqs.requestCounts.get('CreateQueue') ?? 0) >= 1);
    sqs.requestCounts.clear();
    assert.equal(sqs.requestCounts.size, 0);
  });
});
