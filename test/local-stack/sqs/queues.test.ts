import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalSqs } from '../../../infra/local-stack/sqs/server.ts';
import { makeClient, rejectsWith, startTestSqs, uniqueName } from './support.ts';

describe('local SQS: queues', () => {
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

  const create = async (name: string, attributes?: Record<string, string>) =>
    (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
      .QueueUrl as string;

  test('CreateQueue answers the URL http://127.0.0.1:<port>/<account>/<name>', async () => {
    const name = uniqueName('orders');
    assert.equal(await create(name), `${sqs.endpoint}/123456789012/${name}`);
  });

  test('CreateQueue again with the same attributes answers the same URL', async () => {
    const name = uniqueName('same');
    const first = await create(name, { VisibilityTimeout: '5' });
    assert.equal(await create(name, { VisibilityTimeout: '5' }), first);
  });

  test('CreateQueue again with different attributes fails with QueueNameExists', async () => {
    const name = uniqueName('differs');
    await create(name, { VisibilityTimeout: '5' });
    const error = await rejectsWith(create(name, { VisibilityTimeout: '6' }), 'QueueNameExists');
    assert.equal(error.Code, 'QueueAlreadyExists');
  });

  test('CreateQueue refuses an invalid name with InvalidParameterValue', async () => {
    await rejectsWith(create('bad name!'), 'InvalidParameterValue');
  });

  test('CreateQueue refuses an out-of-range attribute with InvalidAttributeValue', async () => {
    await rejectsWith(
      create(uniqueName('delay'), { DelaySeconds: '901' }),
      'InvalidAttributeValue',
    );
  });

  test('CreateQueue refuses an unknown attribute with InvalidAttributeName', async () => {
    await rejectsWith(create(uniqueName('unknown'), { Colour: 'blue' }), 'InvalidAttributeName');
  });

  test('CreateQueue refuses a RedrivePolicy whose dead-letter target does not exist', async () => {
    const policy = JSON.stringify({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:missing',
      maxReceiveCount: 3,
    });
    await rejectsWith(
      create(uniqueName('redrive'), { RedrivePolicy: policy }),
      'InvalidParameterValue',
    );
  });

  test('GetQueueUrl finds a queue by name', async () => {
    const name = uniqueName('lookup');
    const url = await create(name);
    const found = await client.send(new GetQueueUrlCommand({ QueueName: name }));
    assert.equal(found.QueueUrl, url);
  });

  test('GetQueueUrl of a missing queue fails with QueueDoesNotExist and the legacy query code', async () => {
    const error = await rejectsWith(
      client.send(new GetQueueUrlCommand({ QueueName: uniqueName('missing') })),
      'QueueDoesNotExist',
    );
    assert.equal(error.Code, 'AWS.SimpleQueueService.NonExistentQueue');
    assert.equal(error.$fault, 'client');
  });

  test('GetQueueAttributes All answers defaults, the ARN and the message counts', async () => {
    const name = uniqueName('attributes');
    const url = await create(name);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one' }));
    await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 60 }),
    );
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    assert.equal(Attributes?.QueueArn, `arn:aws:sqs:us-east-1:123456789012:${name}`);
    assert.equal(Attributes?.VisibilityTimeout, '30');
    assert.equal(Attributes?.MessageRetentionPeriod, '345600');
    assert.equal(Attributes?.ApproximateNumberOfMessages, '1');
    assert.equal(Attributes?.ApproximateNumberOfMessagesNotVisible, '0');
    assert.equal(Attributes?.ApproximateNumberOfMessagesDelayed, '1');
  });

  test('GetQueueAttributes answers only the attributes asked for', async () => {
    const url = await create(uniqueName('some'));
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['QueueArn', 'DelaySeconds'],
      }),
    );
    assert.deepEqual(Object.keys(Attributes ?? {}).sort(), ['DelaySeconds', 'QueueArn']);
  });

  test('SetQueueAttributes changes attributes and sets a redrive policy to an existing queue', async () => {
    const dlqName = uniqueName('dlq');
    await create(dlqName);
    const url = await create(uniqueName('main'));
    const policy = {
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:123456789012:${dlqName}`,
      maxReceiveCount: '2',
    };
    await client.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: { VisibilityTimeout: '7', RedrivePolicy: JSON.stringify(policy) },
      }),
    );
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    assert.equal(Attributes?.VisibilityTimeout, '7');
    assert.deepEqual(JSON.parse(Attributes?.RedrivePolicy ?? '{}'), {
      deadLetterTargetArn: policy.deadLetterTargetArn,
      maxReceiveCount: 2,
    });
  });

  test('ListQueues filters by prefix and pages with MaxResults and NextToken', async () => {
    const prefix = uniqueName('listed');
    const urls = [
      await create(`${prefix}-a`),
      await create(`${prefix}-b`),
      await create(`${prefix}-c`),
    ];
    const first = await client.send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2 }),
    );
    assert.deepEqual(first.QueueUrls, urls.slice(0, 2));
    assert.ok(first.NextToken);
    const second = await client.send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2, NextToken: first.NextToken }),
    );
    assert.deepEqual(second.QueueUrls, urls.slice(2));
    assert.equal(second.NextToken, undefined);
  });

  test('DeleteQueue removes the queue; using its URL then fails with QueueDoesNotExist', async () => {
    const url = await create(uniqueName('doomed'));
    await client.send(new DeleteQueueCommand({ QueueUrl: url }));
    await rejectsWith(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
      'QueueDoesNotExist',
    );
  });

  test('a request signed with a wrong secret is refused', async () => {
    const stranger = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIALOCALADMIN000001', secretAccessKey: 'wrong' },
    });
    try {
      await rejectsWith(stranger.send(new ListQueuesCommand({})), 'InvalidSignatureException');
    } finally {
      stranger.destroy();
    }
  });

  // Without an answer (the refusal once escaped as an unhandled rejection) the SDK waits forever.
  test('a request body over the 12 MiB cap is refused with RequestEntityTooLarge, and the server keeps answering', {
    timeout: 30_000,
  }, async () => {
    const url = await create(uniqueName('big'));
    const refused = await rejectsWith(
      client.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(12 * 1024 * 1024 + 1) }),
      ),
      'RequestEntityTooLarge',
    );
    assert.equal((refused.$metadata as { httpStatusCode?: number }).httpStatusCode, 413);
    const listed = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'big-' }));
    assert.ok(listed.QueueUrls?.includes(url));
  });
});
