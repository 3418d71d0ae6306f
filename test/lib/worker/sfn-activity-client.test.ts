import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makeSfnActivityApi, makeSfnClient } from '../../../lib/aws/sfn-activity-client.ts';
import { classifySfnError, SfnErrorKind } from '../../../lib/worker/sfn-errors.ts';

/** A minimal AWS JSON 1.0 endpoint: answers each call with what the test queued for its target. */
type Reply = { status: number; body: unknown };
const replies = new Map<string, Reply[]>();
const received: Array<{ target: string; body: Record<string, unknown> }> = [];

const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  let raw = '';
  request.on('data', (chunk: Buffer) => {
    raw += chunk.toString();
  });
  request.on('end', () => {
    const target = String(request.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
    received.push({ target, body: JSON.parse(raw || '{}') });
    const reply = replies.get(target)?.shift() ?? { status: 200, body: {} };
    response.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.0' });
    response.end(JSON.stringify(reply.body));
  });
});

let api: ReturnType<typeof makeSfnActivityApi>;
let client: ReturnType<typeof makeSfnClient>;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = makeSfnClient({
    maxSockets: 4,
    clientConfig: {
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test-secret' },
    },
  });
  api = makeSfnActivityApi(client);
});

after(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('Step Functions activity adapter', () => {
  test('GetActivityTask sends the ARN and worker name and returns token and input', async () => {
    replies.set('GetActivityTask', [{ status: 200, body: { taskToken: 'tok', input: '{"a":1}' } }]);
    const polled = await api.getActivityTask({
      activityArn: 'arn:aws:states:us-east-1:123456789012:activity:eks-call',
      workerName: 'w1',
    });
    assert.deepEqual(polled, { taskToken: 'tok', input: '{"a":1}' });
    assert.deepEqual(received.at(-1), {
      target: 'GetActivityTask',
      body: {
        activityArn: 'arn:aws:states:us-east-1:123456789012:activity:eks-call',
        workerName: 'w1',
      },
    });
  });

  test('an empty long poll returns neither token nor input', async () => {
    replies.set('GetActivityTask', [{ status: 200, body: {} }]);
    assert.deepEqual(
      await api.getActivityTask({
        activityArn: 'arn:aws:states:us-east-1:123456789012:activity:eks-call',
        workerName: 'w1',
      }),
      {},
    );
  });

  test('a TaskTimedOut answer surfaces with its error code as name and is classified task-gone', async () => {
    replies.set('SendTaskHeartbeat', [
      {
        status: 400,
        body: { __type: 'com.amazonaws.swf.service.v2.model#TaskTimedOut', message: 'x' },
      },
    ]);
    const error = await api.sendTaskHeartbeat({ taskToken: 'tok' }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    assert.equal((error as Error).name, 'TaskTimedOut');
    assert.equal(classifySfnError(error), SfnErrorKind.TaskGone);
  });

  test('the SDK does not retry a 5xx itself: the worker owns retries', async () => {
    replies.set('SendTaskSuccess', [{ status: 500, body: { __type: 'InternalFailure' } }]);
    const before = received.filter((call) => call.target === 'SendTaskSuccess').length;
    const error = await api.sendTaskSuccess({ taskToken: 'tok', output: '{}' }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    assert.equal(received.filter((call) => call.target === 'SendTaskSuccess').length - before, 1);
    assert.equal(classifySfnError(error), SfnErrorKind.Transient);
  });

  test('SendTaskFailure sends error and cause unchanged', async () => {
    await api.sendTaskFailure({ taskToken: 'tok', error: 'EKS.404', cause: '{"StatusCode":404}' });
    assert.deepEqual(received.at(-1), {
      target: 'SendTaskFailure',
      body: { taskToken: 'tok', error: 'EKS.404', cause: '{"StatusCode":404}' },
    });
  });
});
