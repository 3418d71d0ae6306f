import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { resumeHandedOffTasks, type SqsRecordLike } from '../../../lib/hosts/lambda-resumer.ts';
import {
  type Checkpoint,
  type Integration,
  TaskAbortedError,
  type TaskContext,
} from '../../../lib/integrations/types.ts';
import type { LeaseQueue } from '../../../lib/worker/ports.ts';
import { type LocalLeaseQueue, startLocalLeaseQueue } from '../../support/local-lease-queue.ts';
import { FakeActivityApi, makeSfnError } from '../worker/support/fake-activity-api.ts';
import { activityArn, silentLogger, withTimeout } from '../worker/support/harness.ts';
import { makeCountdownContext, makeScaledConfig } from './support/lambda-fakes.ts';

const activityName = 'lambda-eks-runJob-sync';
const arn = activityArn(activityName);

interface ResumeCall {
  checkpoint: Checkpoint;
  context: TaskContext;
}

/**
 * A resumable integration: `resume` finishes after `finishAfterMs` (undefined: never), recording
 * a newer checkpoint first.
 */
const makeResumable = (finishAfterMs: number | undefined) => {
  const resumes: ResumeCall[] = [];
  let runs = 0;
  const integration: Integration = {
    activitySuffix: 'eks-runJob-sync',
    run: async () => {
      runs += 1;
      return { ranFromScratch: true };
    },
    resume: (_input, checkpoint, context) => {
      resumes.push({ checkpoint, context });
      context.checkpoint?.({ ...checkpoint, seen: resumes.length });
      return new Promise((resolve, reject) => {
        if (context.signal.aborted) {
          reject(context.signal.reason);
          return;
        }
        const timer =
          finishAfterMs === undefined
            ? undefined
            : setTimeout(() => resolve({ jobName: checkpoint.jobName, done: true }), finishAfterMs);
        context.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(context.signal.reason);
          },
          { once: true },
        );
      });
    },
  };
  return { integration, resumes, runs: () => runs };
};

const makeMessage = (taskToken: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 1,
    taskToken,
    activityArn: arn,
    activityName,
    input: JSON.stringify({ Namespace: 'default' }),
    checkpoint: { jobName: 'job-1', uid: 'uid-1' },
    handOffCount: 1,
    firstReceivedAt: new Date(Date.now() - 5_000).toISOString(),
    ...extra,
  });

const makeAnswerMessage = (taskToken: string, answer: Record<string, unknown>) =>
  JSON.stringify({
    version: 2,
    taskToken,
    activityArn: arn,
    activityName,
    answer,
    handOffCount: 1,
    firstReceivedAt: new Date(Date.now() - 5_000).toISOString(),
  });

// Real SQS seconds: the resumer renews its leases every half lease of the system clock. Each
// test gets its own queue, so a lease left running by one cannot reach the next.
let server: LocalLeaseQueue;
let local: LocalLeaseQueue;
before(async () => {
  server = await startLocalLeaseQueue({ secondMs: 1_000 });
});
after(async () => {
  await server.close();
});
beforeEach(async () => {
  local = await server.nextQueue();
});

/** Sends bodies and receives them as the Lambda event source would (the queue's long lease). */
const deliver = async (bodies: readonly string[]): Promise<SqsRecordLike[]> => {
  for (const body of bodies) await local.queue.send(body, { delaySeconds: 0 });
  const output = await local.client.send(
    new ReceiveMessageCommand({
      QueueUrl: local.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  const records = (output.Messages ?? []).map((message) => ({
    messageId: message.MessageId as string,
    body: message.Body as string,
    receiptHandle: message.ReceiptHandle as string,
  }));
  // Report them in the order sent, so tests can name them by position.
  return bodies.map((body) => records.find((record) => record.body === body) as SqsRecordLike);
};

const setUp = (finishAfterMs: number | undefined, remainingMs = 1_000) => {
  const api = new FakeActivityApi();
  const resumable = makeResumable(finishAfterMs);
  const sent: string[] = [];
  const changes: { receiptHandle: string; visibilitySeconds: number; atMs: number }[] = [];
  let sendFailures = 0;
  const queue: LeaseQueue = {
    ...local.queue,
    changeVisibilities: async (entries) => {
      changes.push(...entries.map((entry) => ({ ...entry, atMs: Date.now() })));
      return local.queue.changeVisibilities(entries);
    },
    send: async (body, options) => {
      if (sendFailures > 0) {
        sendFailures -= 1;
        throw makeSfnError('ServiceUnavailable', 503);
      }
      sent.push(body);
      await local.queue.send(body, options);
    },
  };
  const carriedReports: number[] = [];
  const invoke = (records: SqsRecordLike[], overrides = {}) =>
    withTimeout(
      resumeHandedOffTasks(records, {
        config: makeScaledConfig([arn], { leaseSeconds: 5, ...overrides }),
        integrations: [resumable.integration],
        activityApi: api,
        logger: silentLogger(),
        context: makeCountdownContext(remainingMs),
        queue,
        reportCarried: (carried) => carriedReports.push(carried),
        carriedReportIntervalMs: 200,
      }),
      remainingMs + 3_000,
    );
  return {
    api,
    resumable,
    invoke,
    sent: () => sent.map((body) => JSON.parse(body) as Record<string, unknown>),
    leaseChanges: () => changes,
    carriedReports,
    failNextSends: (count: number) => {
      sendFailures = count;
    },
  };
};

describe('Lambda resumer', () => {
  test('a wait that ends within the invocation is answered once, and its record is done', async () => {
    const { api, resumable, invoke, sent } = setUp(100);
    const records = await deliver([makeMessage('token-a')]);
    const response = await invoke(records);
    assert.deepEqual(response.batchItemFailures, []);
    assert.deepEqual(resumable.resumes[0]?.checkpoint, { jobName: 'job-1', uid: 'uid-1' });
    assert.equal(resumable.runs(), 0, 'resumed, not re-run');
    assert.deepEqual(api.answers, [
      {
        kind: 'success',
        taskToken: 'token-a',
        output: JSON.stringify({ jobName: 'job-1', done: true }),
      },
    ]);
    assert.equal(sent().length, 0);
    assert.equal(local.messages().length, 0, 'the message is deleted');
  });

  test('the first heartbeat goes at once, before the first interval', async () => {
    const { api, invoke } = setUp(50);
    const startedAtMs = Date.now();
    await invoke(await deliver([makeMessage('token-a')]));
    const [heartbeat] = api.callsOf('sendTaskHeartbeat');
    assert.ok(heartbeat, 'a heartbeat was sent');
    // makeScaledConfig: one heartbeat a second.
    assert.ok(heartbeat.atMs - startedAtMs < 500, `after ${heartbeat.atMs - startedAtMs} ms`);
  });

  test('a stopped execution seen by the first heartbeat is not answered; the Job is cleaned up and the message deleted', async () => {
    const { api, resumable, invoke, sent } = setUp(undefined);
    api.expire('token-b', 'TaskTimedOut');
    const response = await invoke(await deliver([makeMessage('token-b')]), {
      cleanupOnAbandon: true,
    });
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    assert.equal(sent().length, 0);
    assert.equal(resumable.resumes.length, 1);
    const reason = resumable.resumes[0]?.context.signal.reason;
    assert.ok(reason instanceof TaskAbortedError);
    assert.deepEqual(reason.abortCause, { kind: 'abandoned', sfnError: 'TaskTimedOut' });
    assert.equal(resumable.resumes[0]?.context.cleanupOnAbandon, true);
    assert.equal(local.messages().length, 0);
  });

  test('a wait still going at the end of the invocation is handed back with its newest checkpoint', async () => {
    const { api, invoke, sent } = setUp(undefined, 800);
    const response = await invoke(await deliver([makeMessage('token-c')]));
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    const [message, ...others] = sent();
    assert.equal(others.length, 0);
    assert.equal(message?.taskToken, 'token-c');
    assert.deepEqual(message?.checkpoint, { jobName: 'job-1', uid: 'uid-1', seen: 1 });
    assert.equal(message?.handOffCount, 2);
    assert.deepEqual(
      local.messages().map((queued) => queued.taskToken),
      ['token-c'],
      'the new message replaces the record: one message for the task',
    );
  });

  test('a hand-back whose send fails releases the record at once instead, and reports it', async () => {
    const { api, invoke, failNextSends } = setUp(undefined, 800);
    failNextSends(1);
    const records = await deliver([makeMessage('token-d')]);
    const response = await invoke(records);
    // The event source must not delete it: the record itself now carries the task on.
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: records[0]?.messageId }]);
    assert.equal(api.answers.length, 0);
    // Released (visible now), not left for the queue's 900 s visibility timeout.
    const { visible } = local.snapshot();
    assert.equal(visible.length, 1);
    assert.equal(JSON.parse(visible[0]?.body ?? '{}').taskToken, 'token-d');
  });

  test('records are leased for a lease at once, not the queue visibility timeout, so a crash loses a lease', async () => {
    const { invoke, leaseChanges } = setUp(undefined, 800);
    const records = await deliver([makeMessage('token-e')]);
    const startedAtMs = Date.now();
    await invoke(records);
    const first = leaseChanges().find(
      (change) => change.receiptHandle === records[0]?.receiptHandle,
    );
    assert.ok(first, 'the record lease was changed');
    assert.equal(first.visibilitySeconds, 5, 'to the 5 s lease (EKS_WORKER_LEASE_SECONDS)');
    assert.ok(first.atMs - startedAtMs < 100, `at once: after ${first.atMs - startedAtMs} ms`);
  });

  test('while it runs it reports the waits it carries, for the carriers-nearly-full alarm', async () => {
    const { invoke, carriedReports } = setUp(undefined, 1_000);
    const records = await deliver([makeMessage('token-r1')]);
    await local.queue.send(makeMessage('token-r2'), { delaySeconds: 0 });
    await invoke(records);
    assert.ok(carriedReports.length >= 2, `${carriedReports.length} reports`);
    assert.equal(Math.max(...carriedReports), 2, 'its record and the wait it received itself');
  });

  test('it also carries waits it receives itself, beyond its batch', async () => {
    const { api, resumable, invoke } = setUp(150, 1_500);
    const records = await deliver([makeMessage('token-f1')]);
    for (const token of ['token-f2', 'token-f3', 'token-f4']) {
      await local.queue.send(makeMessage(token), { delaySeconds: 0 });
    }
    const response = await invoke(records);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(resumable.resumes.length, 4);
    assert.deepEqual(api.answers.map((answer) => answer.taskToken).sort(), [
      'token-f1',
      'token-f2',
      'token-f3',
      'token-f4',
    ]);
    assert.equal(local.messages().length, 0);
  });

  test('it ends early once nothing is carried and the queue is empty', async () => {
    const { invoke } = setUp(50, 30_000);
    const startedAtMs = Date.now();
    await invoke(await deliver([makeMessage('token-g')]));
    const tookMs = Date.now() - startedAtMs;
    // Its first look at the queue is a short one (1 s); then it is done, not after the window.
    assert.ok(tookMs < 3_000, `ended after ${tookMs} ms`);
  });

  test('an unreadable message is a batch item failure (it ends in the dead-letter queue)', async () => {
    const { api, invoke } = setUp(100);
    const response = await invoke(
      await deliver(['{"version":1,"taskToken":""}', makeMessage('token-h')]),
    );
    assert.equal(response.batchItemFailures.length, 1);
    assert.equal(api.answerFor('token-h')?.kind, 'success');
  });

  test('a task handed off before any checkpoint is run from the start', async () => {
    const { api, resumable, invoke } = setUp(100);
    const body = JSON.parse(makeMessage('token-i')) as Record<string, unknown>;
    delete body.checkpoint;
    await invoke(await deliver([JSON.stringify(body)]));
    assert.equal(resumable.runs(), 1);
    assert.equal(resumable.resumes.length, 0);
    assert.equal(api.answerFor('token-i')?.kind, 'success');
  });

  test('an answer Step Functions refuses until the end of the invocation is handed back as an answer', async () => {
    const { api, resumable, invoke, sent } = setUp(50, 800);
    api.failNext(
      'sendTaskSuccess',
      ...Array.from({ length: 200 }, () => makeSfnError('ServiceUnavailable', 503)),
    );
    const response = await invoke(await deliver([makeMessage('token-k')]));
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    assert.equal(resumable.resumes.length, 1);
    const [message] = sent();
    assert.equal(message?.version, 2);
    assert.equal(message?.handOffCount, 2);
    assert.deepEqual(message?.answer, {
      kind: 'success',
      output: JSON.stringify({ jobName: 'job-1', done: true }),
    });
  });

  test('a handed-off answer is delivered as it is; nothing runs again and no heartbeat is sent', async () => {
    const { api, resumable, invoke, sent } = setUp(50);
    const response = await invoke(
      await deliver([
        makeAnswerMessage('token-l', { kind: 'failure', error: 'EKS.JobFailed', cause: '{}' }),
      ]),
    );
    assert.deepEqual(response.batchItemFailures, []);
    assert.deepEqual(api.answers, [
      { kind: 'failure', taskToken: 'token-l', error: 'EKS.JobFailed', cause: '{}' },
    ]);
    assert.equal(resumable.runs() + resumable.resumes.length, 0);
    assert.equal(api.callsOf('sendTaskHeartbeat').length, 0);
    assert.equal(sent().length, 0);
    assert.equal(local.messages().length, 0);
  });

  test('a handed-off answer for a task that is gone ends its message', async () => {
    const { api, invoke } = setUp(50);
    api.expire('token-m', 'TaskTimedOut');
    const response = await invoke(
      await deliver([makeAnswerMessage('token-m', { kind: 'success', output: '{}' })]),
    );
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    assert.equal(local.messages().length, 0);
  });

  test('a handed-off answer still refused at the end of the invocation is queued again', async () => {
    const { api, invoke, sent } = setUp(50, 600);
    api.failNext(
      'sendTaskSuccess',
      ...Array.from({ length: 200 }, () => makeSfnError('ThrottlingException', 400)),
    );
    const response = await invoke(
      await deliver([makeAnswerMessage('token-n', { kind: 'success', output: '{"a":1}' })]),
    );
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    const [message] = sent();
    assert.equal(message?.version, 2);
    assert.equal(message?.handOffCount, 2);
    assert.deepEqual(message?.answer, { kind: 'success', output: '{"a":1}' });
  });
});
