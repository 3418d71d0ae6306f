import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPollerInvocation } from '../../../lib/hosts/lambda-poller.ts';
import type { Integration, TaskContext } from '../../../lib/integrations/types.ts';
import { makeQueueHandOff } from '../../../lib/worker/hand-off-message.ts';
import { FakeActivityApi } from '../worker/support/fake-activity-api.ts';
import { activityArn, silentLogger, withTimeout } from '../worker/support/harness.ts';
import { MemoryQueue, makeCountdownContext, makeScaledConfig } from './support/lambda-fakes.ts';

const arn = activityArn('lambda-eks-runJob-sync');

/** An integration that records a checkpoint, then waits until aborted (a long Job). */
const makeEndlessIntegration = (): Integration & { contexts: TaskContext[] } => {
  const contexts: TaskContext[] = [];
  return {
    activitySuffix: 'eks-runJob-sync',
    contexts,
    run: (_input, context) => {
      contexts.push(context);
      context.checkpoint?.({ jobName: 'job-1', uid: 'uid-1' });
      return new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason), {
          once: true,
        });
      });
    },
  };
};

describe('Lambda poller invocation', () => {
  test('never starts a poll unless the long poll, finishing budget and reserve still fit', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const config = makeScaledConfig([arn]);
    const context = makeCountdownContext(1_500);
    const summary = await withTimeout(
      runPollerInvocation({
        config,
        integrations: [makeEndlessIntegration()],
        activityApi: api,
        logger: silentLogger(),
        context,
      }),
      3_000,
    );
    assert.equal(summary.polled, true);
    const polls = api.callsOf('getActivityTask');
    assert.ok(polls.length >= 3, `polled ${polls.length} times`);
    const needMs = config.longPollBudgetMs + config.taskFinishBudgetMs + config.handOffReserveMs;
    for (const poll of polls) {
      assert.ok(
        context.deadlineMs - poll.atMs >= needMs,
        `a poll started ${context.deadlineMs - poll.atMs} ms before the end`,
      );
    }
    assert.ok(Date.now() <= context.deadlineMs, 'the invocation ended before its deadline');
  });

  test('an invocation too short for one long poll polls not at all', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const summary = await runPollerInvocation({
      config: makeScaledConfig([arn]),
      integrations: [makeEndlessIntegration()],
      activityApi: api,
      logger: silentLogger(),
      context: makeCountdownContext(600),
    });
    assert.equal(summary.polled, false);
    assert.equal(api.callsOf('getActivityTask').length, 0);
  });

  test('a task still running at the reserve is handed off with its checkpoint, not answered', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const queue = new MemoryQueue();
    const token = api.enqueue(arn, { Namespace: 'default' });
    const integration = makeEndlessIntegration();
    const context = makeCountdownContext(1_200);
    await withTimeout(
      runPollerInvocation({
        config: makeScaledConfig([arn]),
        integrations: [integration],
        activityApi: api,
        logger: silentLogger(),
        context,
        handOff: makeQueueHandOff({ queue, delaySeconds: 1 }),
      }),
      3_000,
    );
    assert.equal(api.answers.length, 0);
    const [message, ...others] = queue.messages();
    assert.equal(others.length, 0);
    assert.equal(message?.taskToken, token);
    assert.equal(message?.activityArn, arn);
    assert.equal(message?.input, JSON.stringify({ Namespace: 'default' }));
    assert.deepEqual(message?.checkpoint, { jobName: 'job-1', uid: 'uid-1' });
    assert.equal(message?.handOffCount, 1);
    assert.equal(message?.version, 1);
    assert.equal(queue.sent[0]?.delaySeconds, 1);
  });

  test('a task without a hand-off target still ends: failed as interrupted', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const token = api.enqueue(arn, {});
    await withTimeout(
      runPollerInvocation({
        config: makeScaledConfig([arn]),
        integrations: [makeEndlessIntegration()],
        activityApi: api,
        logger: silentLogger(),
        context: makeCountdownContext(1_200),
      }),
      3_000,
    );
    const answer = api.answerFor(token);
    assert.equal(answer?.kind, 'failure');
    assert.equal(answer?.kind === 'failure' ? answer.error : '', 'EKS.WorkerInterrupted');
  });
});
