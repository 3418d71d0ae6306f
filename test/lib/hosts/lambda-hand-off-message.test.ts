import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import {
  HandOffMessageError,
  makeHandOffMessage,
  makeQueueHandOff,
  parseHandOffMessage,
  toResumableTask,
} from '../../../lib/worker/hand-off-message.ts';
import { MemoryQueue } from './support/lambda-fakes.ts';

const task = {
  activityArn: 'arn:aws:states:us-east-1:123456789012:activity:p-eks-runJob-sync',
  activityName: 'p-eks-runJob-sync',
  taskToken: 'secret-token',
  input: '{"Namespace":"default"}',
};
const progress = {
  checkpoint: { jobName: 'j' },
  handOffCount: 2,
  firstReceivedAtMs: 1_700_000_000_000,
};

describe('hand-off message', () => {
  test('carries the task, the checkpoint, the incremented count and the first receipt time', () => {
    assert.deepEqual(makeHandOffMessage(task, progress), {
      version: 1,
      ...task,
      checkpoint: { jobName: 'j' },
      handOffCount: 3,
      firstReceivedAt: '2023-11-14T22:13:20.000Z',
    });
  });

  test('round-trips through its JSON body to the same task and progress', () => {
    const body = JSON.stringify(makeHandOffMessage(task, progress));
    const resumable = toResumableTask(parseHandOffMessage(body));
    assert.deepEqual(resumable.task, task);
    assert.deepEqual(resumable.progress, { ...progress, handOffCount: 3 });
  });

  test('carries the poll that received the task, so the resumer’s lines carry its workerName', () => {
    const poll = { workerName: 'host-1/0123456789ab', pollId: '0123456789ab' };
    const body = JSON.stringify(makeHandOffMessage({ ...task, poll }, progress));
    assert.deepEqual(toResumableTask(parseHandOffMessage(body)).task, { ...task, poll });
    // A malformed poll (or none, from an older worker) does not stop the task from resuming.
    const odd = JSON.stringify({ ...JSON.parse(body), poll: { workerName: 3 } });
    assert.deepEqual(toResumableTask(parseHandOffMessage(odd)).task, task);
  });

  test('an unknown version or a missing field is refused without echoing the body', () => {
    const body = JSON.stringify({ ...makeHandOffMessage(task, progress), version: 2 });
    assert.throws(() => parseHandOffMessage(body), HandOffMessageError);
    const noToken = JSON.stringify({ ...makeHandOffMessage(task, progress), taskToken: '' });
    assert.throws(
      () => parseHandOffMessage(noToken),
      (error: Error) => /taskToken/.test(error.message) && !error.message.includes('secret'),
    );
  });

  test('a task too large for an SQS message is declined, not sent', async () => {
    const queue = new MemoryQueue();
    const handOff = makeQueueHandOff({ queue, delaySeconds: 5 });
    assert.equal(
      await handOff.handOffTask({ ...task, input: 'x'.repeat(262_144) }, progress),
      false,
    );
    assert.equal(queue.sent.length, 0);
  });
});

describe('Lambda configuration', () => {
  const base = {
    AWS_REGION: 'us-east-1',
    EKS_WORKER_ACTIVITY_ARNS: task.activityArn,
  };

  test('the budgets default to a 65 s long poll, 30 s to finish and a 20 s reserve; no queue', () => {
    const config = loadConfig(base);
    assert.equal(config.longPollBudgetMs, 65_000);
    assert.equal(config.taskFinishBudgetMs, 30_000);
    assert.equal(config.handOffReserveMs, 20_000);
    assert.equal(config.leaseSeconds, 30);
    assert.equal(config.maxCarriedTasks, 2_000);
    assert.equal(config.handOffQueueUrl, undefined);
  });

  test('the hand-off queue and budgets are read from the environment', () => {
    const config = loadConfig({
      ...base,
      EKS_WORKER_HANDOFF_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q',
      EKS_WORKER_LONG_POLL_BUDGET_MS: '1000',
      EKS_WORKER_LEASE_SECONDS: '45',
      EKS_WORKER_MAX_CARRIED_TASKS: '500',
    });
    assert.equal(config.handOffQueueUrl, 'https://sqs.us-east-1.amazonaws.com/123456789012/q');
    assert.equal(config.longPollBudgetMs, 1_000);
    assert.equal(config.leaseSeconds, 45);
    assert.equal(config.maxCarriedTasks, 500);
  });

  test('a lease shorter than 5 s and a queue URL that is not a URL are refused', () => {
    assert.throws(
      () =>
        loadConfig({
          ...base,
          EKS_WORKER_LEASE_SECONDS: '4',
          EKS_WORKER_HANDOFF_QUEUE_URL: 'not a url',
        }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 2,
    );
  });
});
