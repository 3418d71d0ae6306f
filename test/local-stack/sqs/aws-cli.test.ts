import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { md5Hex } from '../../../infra/local-stack/sqs/md5.ts';
import type { LocalSqs } from '../../../infra/local-stack/sqs/server.ts';
import { adminCliEnv } from '../../support/local-aws.ts';
import { startTestSqs, uniqueName } from './support.ts';

const run = promisify(execFile);
const awsPath = fileURLToPath(new URL('../../../.tools/bin/aws', import.meta.url));

// The AWS CLI v2.9 speaks SQS's query protocol (form requests, XML answers), unlike the SDK.
describe('local SQS: the AWS CLI (query protocol)', {
  skip: !existsSync(awsPath) && 'run `npm run tools` first',
}, () => {
  let sqs: LocalSqs;
  before(async () => {
    sqs = await startTestSqs();
  });
  after(async () => {
    await sqs.close();
  });

  const env = {
    ...adminCliEnv(),
    AWS_MAX_ATTEMPTS: '1',
  };
  const aws = async (...args: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run(
      awsPath,
      ['sqs', ...args, '--endpoint-url', sqs.endpoint, '--output', 'json'],
      { timeout: 30_000, env },
    );
    return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
  };

  test('create-queue, send-message with attributes, receive-message, delete-message, get-queue-attributes', async () => {
    const name = uniqueName('cli');
    const { QueueUrl } = (await aws(
      'create-queue',
      '--queue-name',
      name,
      '--attributes',
      'VisibilityTimeout=5',
    )) as { QueueUrl: string };
    assert.equal(QueueUrl, `${sqs.endpoint}/123456789012/${name}`);

    const sent = await aws(
      'send-message',
      '--queue-url',
      QueueUrl,
      '--message-body',
      'from <the> CLI & co',
      '--message-attributes',
      JSON.stringify({
        kind: { DataType: 'String', StringValue: 'cli' },
        raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]).toString('base64') },
      }),
    );
    assert.equal(sent.MD5OfMessageBody, md5Hex('from <the> CLI & co'));
    assert.deepEqual(sqs.inspect.queue(QueueUrl)?.visible[0]?.messageAttributes.kind, {
      DataType: 'String',
      StringValue: 'cli',
    });

    const received = (await aws(
      'receive-message',
      '--queue-url',
      QueueUrl,
      '--attribute-names',
      'All',
      '--message-attribute-names',
      'All',
      '--max-number-of-messages',
      '10',
    )) as { Messages: Record<string, unknown>[] };
    const message = received.Messages[0] as {
      Body: string;
      ReceiptHandle: string;
      MD5OfMessageAttributes: string;
      Attributes: Record<string, string>;
      MessageAttributes: Record<string, { StringValue?: string; BinaryValue?: string }>;
    };
    assert.equal(message.Body, 'from <the> CLI & co');
    assert.equal(message.Attributes.ApproximateReceiveCount, '1');
    assert.equal(message.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.equal(message.MessageAttributes.kind?.StringValue, 'cli');
    assert.equal(
      message.MessageAttributes.raw?.BinaryValue,
      Buffer.from([1, 2, 3]).toString('base64'),
    );

    await aws('delete-message', '--queue-url', QueueUrl, '--receipt-handle', message.ReceiptHandle);
    const { Attributes } = (await aws(
      'get-queue-attributes',
      '--queue-url',
      QueueUrl,
      '--attribute-names',
      'All',
    )) as { Attributes: Record<string, string> };
    assert.equal(Attributes.VisibilityTimeout, '5');
    assert.equal(Attributes.ApproximateNumberOfMessages, '0');
    assert.equal(Attributes.ApproximateNumberOfMessagesNotVisible, '0');
  });

  test('send-message-batch and list-queues', async () => {
    const name = uniqueName('cli-batch');
    const { QueueUrl } = (await aws('create-queue', '--queue-name', name)) as { QueueUrl: string };
    const batch = (await aws(
      'send-message-batch',
      '--queue-url',
      QueueUrl,
      '--entries',
      JSON.stringify([
        { Id: 'a', MessageBody: 'one' },
        { Id: 'b', MessageBody: 'two' },
      ]),
    )) as { Successful: { Id: string }[] };
    assert.deepEqual(batch.Successful.map((e) => e.Id).sort(), ['a', 'b']);
    assert.equal(sqs.inspect.queue(QueueUrl)?.visible.length, 2);
    const listed = (await aws('list-queues', '--queue-name-prefix', name)) as {
      QueueUrls: string[];
    };
    assert.deepEqual(listed.QueueUrls, [QueueUrl]);
  });

  test('a missing queue is reported with its legacy error code', async () => {
    await assert.rejects(
      aws('get-queue-url', '--queue-name', uniqueName('absent')),
      (error: Error & { stderr?: string }) => {
        assert.match(error.stderr ?? '', /AWS\.SimpleQueueService\.NonExistentQueue/);
        return true;
      },
    );
  });
});
