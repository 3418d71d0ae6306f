import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resumeHandedOffTasks } from '../../../lib/hosts/lambda-resumer.ts';
import {
  type Checkpoint,
  type Integration,
  TaskAbortedError,
  type TaskContext,
} from '../../../lib/integrations/types.ts';
import { FakeActivityApi, makeSfnError } from '../worker/support/fake-activity-api.ts';
import { activityArn, silentLogger, withTimeout } from '../worker/support/harness.ts';
import { MemoryQueue, makeCountdownContext, makeScaledConfig } from './support/lambda-fakes.ts';

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

const setUp = (finishAfterMs: number | undefined, remainingMs = 1_000) => {
  const api = new FakeActivityApi();
  const queue = new MemoryQueue();
  const resumable = makeResumable(finishAfterMs);
  const invoke = (records: { messageId: string; body: string; receiptHandle?: string }[]) =>
    withTimeout(
      resumeHandedOffTasks(records, {
        config: makeScaledConfig([arn]),
        integrations: [resumable.integration],
        activityApi: api,
        logger: silentLogger(),
        context: makeCountdownContext(remainingMs),
        queue,
      }),
      3_000,
    );
  return { api, queue, resumable, invoke };
};

describe('Lambda resumer', () => {
  test('a task that finishes within the invocation is answered once and its message is done', async () => {
    const { api, queue, resumable, invoke } = setUp(100);
    const response = await invoke([{ messageId: 'm1', body: makeMessage('token-a') }]);
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
    assert.equal(queue.sent.length, 0);
  });

  test('the first heartbeat comes before the resume', async () => {
    const { api, invoke } = setUp(50);
    await invoke([{ messageId: 'm1', body: makeMessage('token-a') }]);
    const [first] = api.calls;
    assert.equal(first?.method, 'sendTaskHeartbeat');
  });

  test('a stopped execution seen by the first heartbeat is not resumed; the Job is cleaned up and the message done', async () => {
    const { api, queue, resumable, invoke } = setUp(100);
    api.expire('token-b', 'TaskTimedOut');
    const response = await invoke([{ messageId: 'm1', body: makeMessage('token-b') }]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    assert.equal(queue.sent.length, 0);
    // The only call of resume is the clean-up one, with a signal already aborted as abandoned.
    assert.equal(resumable.resumes.length, 1);
    const reason = resumable.resumes[0]?.context.signal.reason;
    assert.ok(reason instanceof TaskAbortedError);
    assert.deepEqual(reason.abortCause, { kind: 'abandoned', sfnError: 'TaskTimedOut' });
  });

  test('a task still running near the end of the invocation is re-queued with the newest checkpoint', async () => {
    const { api, queue, invoke } = setUp(undefined, 800);
    const response = await invoke([{ messageId: 'm1', body: makeMessage('token-c') }]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    const [message, ...others] = queue.messages();
    assert.equal(others.length, 0);
    assert.equal(message?.taskToken, 'token-c');
    assert.deepEqual(message?.checkpoint, { jobName: 'job-1', uid: 'uid-1', seen: 1 });
    assert.equal(message?.handOffCount, 2);
    assert.equal(queue.sent[0]?.delaySeconds, 1);
  });

  test('a failed re-queue reports the record as a batch item failure and sends no answer', async () => {
    const { api, queue, invoke } = setUp(undefined, 800);
    queue.failures = 1;
    const response = await invoke([{ messageId: 'm1', body: makeMessage('token-d') }]);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm1' }]);
    assert.equal(api.answers.length, 0);
    assert.equal(queue.sent.length, 0);
  });

  test('an unreadable message is a batch item failure (it ends in the dead-letter queue)', async () => {
    const { api, invoke } = setUp(100);
    const response = await invoke([
      { messageId: 'bad', body: '{"version":1,"taskToken":""}' },
      { messageId: 'good', body: makeMessage('token-e') },
    ]);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'bad' }]);
    assert.equal(api.answerFor('token-e')?.kind, 'success');
  });

  test('a task handed off before any checkpoint is run from the start', async () => {
    const { api, resumable, invoke } = setUp(100);
    const body = JSON.parse(makeMessage('token-f')) as Record<string, unknown>;
    delete body.checkpoint;
    await invoke([{ messageId: 'm1', body: JSON.stringify(body) }]);
    assert.equal(resumable.runs(), 1);
    assert.equal(resumable.resumes.length, 0);
    assert.equal(api.answerFor('token-f')?.kind, 'success');
  });

  test('a second answer refused by Step Functions (another resumer answered) ends the message', async () => {
    const { api, invoke } = setUp(100);
    // The heartbeat passes; the answer is refused as for a task already answered.
    api.failNext(
      'sendTaskSuccess',
      Object.assign(new Error('gone'), {
        name: 'TaskTimedOut',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const response = await invoke([{ messageId: 'm1', body: makeMessage('token-g') }]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
  });

  test('a failed re-queue makes its record visible again after the re-queue delay, not the visibility timeout', async () => {
    const { queue, invoke } = setUp(undefined, 800);
    queue.failures = 1;
    const response = await invoke([
      { messageId: 'm1', body: makeMessage('token-h'), receiptHandle: 'receipt-1' },
    ]);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm1' }]);
    // makeScaledConfig: requeueDelaySeconds 1.
    assert.deepEqual(queue.visibilityChanges, [
      { receiptHandle: 'receipt-1', visibilitySeconds: 1 },
    ]);
  });

  test('a record re-queued successfully or done keeps its visibility untouched', async () => {
    const { queue, invoke } = setUp(undefined, 800);
    await invoke([{ messageId: 'm1', body: makeMessage('token-i'), receiptHandle: 'receipt-1' }]);
    assert.equal(queue.sent.length, 1);
    assert.deepEqual(queue.visibilityChanges, []);
  });

  test('a visibility change that fails still reports the record as failed (redelivered late)', async () => {
    const { queue, invoke } = setUp(undefined, 800);
    queue.failures = 1;
    queue.visibilityFailures = 1;
    const response = await invoke([
      { messageId: 'm1', body: makeMessage('token-j'), receiptHandle: 'receipt-1' },
    ]);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm1' }]);
  });

  test('an answer Step Functions refuses until the end of the invocation is re-queued as an answer, not lost', async () => {
    const { api, queue, resumable, invoke } = setUp(50, 800);
    api.failNext(
      'sendTaskSuccess',
      ...Array.from({ length: 200 }, () => makeSfnError('ServiceUnavailable', 503)),
    );
    const response = await invoke([{ messageId: 'm1', body: makeMessage('token-k') }]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    assert.equal(resumable.resumes.length, 1);
    const [message] = queue.messages();
    assert.equal(message?.version, 2);
    assert.equal(message?.handOffCount, 2);
    assert.deepEqual(message?.answer, {
      kind: 'success',
      output: JSON.stringify({ jobName: 'job-1', done: true }),
    });
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

  test('a handed-off answer is delivered as it is; nothing runs again and no heartbeat is sent', async () => {
    const { api, queue, resumable, invoke } = setUp(50);
    const response = await invoke([
      {
        messageId: 'm1',
        body: makeAnswerMessage('token-l', {
          kind: 'failure',
          error: 'EKS.JobFailed',
          cause: '{}',
        }),
      },
    ]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.deepEqual(api.answers, [
      { kind: 'failure', taskToken: 'token-l', error: 'EKS.JobFailed', cause: '{}' },
    ]);
    assert.equal(resumable.runs() + resumable.resumes.length, 0);
    assert.equal(api.callsOf('sendTaskHeartbeat').length, 0);
    assert.equal(queue.sent.length, 0);
  });

  test('a handed-off answer for a task that is gone ends its message', async () => {
    const { api, queue, invoke } = setUp(50);
    api.expire('token-m', 'TaskTimedOut');
    const response = await invoke([
      { messageId: 'm1', body: makeAnswerMessage('token-m', { kind: 'success', output: '{}' }) },
    ]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    assert.equal(queue.sent.length, 0);
  });

  test('a handed-off answer still refused at the end of the invocation is queued again', async () => {
    const { api, queue, invoke } = setUp(50, 600);
    api.failNext(
      'sendTaskSuccess',
      ...Array.from({ length: 200 }, () => makeSfnError('ThrottlingException', 400)),
    );
    const response = await invoke([
      {
        messageId: 'm1',
        body: makeAnswerMessage('token-n', { kind: 'success', output: '{"a":1}' }),
      },
    ]);
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(api.answers.length, 0);
    const [message] = queue.messages();
    assert.equal(message?.version, 2);
    assert.equal(message?.handOffCount, 2);
    assert.deepEqual(message?.answer, { kind: 'success', output: '{"a":1}' });
  });

  test('a handed-off answer whose re-queue fails is redelivered soon', async () => {
    const { api, queue, invoke } = setUp(50, 600);
    api.failNext(
      'sendTaskSuccess',
      ...Array.from({ length: 200 }, () => makeSfnError('ServiceUnavailable', 503)),
    );
    queue.failures = 1;
    const response = await invoke([
      {
        messageId: 'm1',
        body: makeAnswerMessage('token-o', { kind: 'success', output: '{}' }),
        receiptHandle: 'receipt-o',
      },
    ]);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm1' }]);
    assert.deepEqual(queue.visibilityChanges, [
      { receiptHandle: 'receipt-o', visibilitySeconds: 1 },
    ]);
  });
});
