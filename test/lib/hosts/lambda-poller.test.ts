import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPollerInvocation } from '../../../lib/hosts/lambda-poller.ts';
import type { Integration, TaskContext } from '../../../lib/integrations/types.ts';
import { makeQueueHandOff } from '../../../lib/worker/hand-off-message.ts';
import { FakeActivityApi } from '../worker/support/fake-activity-api.ts';
import { activityArn, delay, silentLogger, withTimeout } from '../worker/support/harness.ts';
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

describe('overlapping Lambda poller invocations', () => {
  test('no poll starts after the configured poll window', async () => {
    const api = new FakeActivityApi({ longPollMs: 50 });
    const context = makeCountdownContext(2_000);
    const startedAt = Date.now();
    const summary = await withTimeout(
      runPollerInvocation({
        config: makeScaledConfig([arn], { pollWindowMs: 300 }),
        integrations: [makeEndlessIntegration()],
        activityApi: api,
        logger: silentLogger(),
        context,
      }),
      3_000,
    );
    assert.equal(summary.pollWindowMs, 300);
    const polls = api.callsOf('getActivityTask');
    assert.ok(polls.length >= 3, `polled ${polls.length} times`);
    for (const poll of polls) assert.ok(poll.atMs - startedAt <= 300 + 30);
  });

  test('with invocations started every interval and polling a little longer, a task is picked up at once across the boundaries', async () => {
    // serverless.yml scaled down 1,000 times: a tick every 600 ms, polls for 690 ms, 60 ms holds
    // (the long poll's 60 s), 900 ms invocations.
    const intervalMs = 600;
    const api = new FakeActivityApi({ longPollMs: 60 });
    const arns = ['eks-call', 'eks-runJob', 'eks-createCluster'].map((suffix) =>
      activityArn(`lambda-${suffix}`),
    );
    const pickups: number[] = [];
    const enqueuedAt = new Map<string, number>();
    const integrations: Integration[] = ['eks-call', 'eks-runJob', 'eks-createCluster'].map(
      (activitySuffix) => ({
        activitySuffix,
        run: async (input) => {
          const key = (input as { key: string }).key;
          pickups.push(Date.now() - (enqueuedAt.get(key) ?? Number.NaN));
          return {};
        },
      }),
    );
    const config = makeScaledConfig(arns, {
      pollWindowMs: 690,
      longPollBudgetMs: 65,
      taskFinishBudgetMs: 30,
      handOffReserveMs: 20,
    });
    const invoke = () =>
      runPollerInvocation({
        config,
        integrations,
        activityApi: api,
        logger: silentLogger(),
        context: makeCountdownContext(900),
      });
    const invocations = [invoke()];
    const ticks = (async () => {
      for (let tick = 1; tick <= 2; tick += 1) {
        await delay(intervalMs);
        invocations.push(invoke());
      }
    })();
    // Tasks arrive every 7 ms across two boundaries (600 ms and 1,200 ms), each a few ms apart
    // from the last, so a boundary without a poll in flight cannot go unnoticed.
    let sent = 0;
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      const key = `t${sent}`;
      enqueuedAt.set(key, Date.now());
      api.enqueue(arns[sent % arns.length] as string, { key });
      sent += 1;
      await delay(7);
    }
    await ticks;
    await withTimeout(Promise.all(invocations), 5_000);
    assert.equal(pickups.length, sent, 'every task was run');
    const slowest = Math.max(...pickups);
    // Without overlap a task waits for the next tick (hundreds of ms); with it, for a poll.
    assert.ok(slowest < 100, `slowest pickup ${slowest} ms of ${sent}`);
  });
});
