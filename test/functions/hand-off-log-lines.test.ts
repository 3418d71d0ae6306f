/**
 * A task handed off by the poller keeps the workerName its poll sent (the one the execution
 * history shows) on the resumer's log lines too, so the saved Logs Insights query finds both halves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePollerHandler } from '../../functions/poller.ts';
import { makeResumerHandler } from '../../functions/resumer.ts';
import type { Integration, TaskContext } from '../../lib/integrations/types.ts';
import { makeLogger } from '../../lib/logger.ts';
import {
  MemoryQueue,
  makeCountdownContext,
  makeScaledConfig,
  makeTestRuntime,
} from '../lib/hosts/support/lambda-fakes.ts';
import { FakeActivityApi } from '../lib/worker/support/fake-activity-api.ts';
import { activityArn, silentLogger, withTimeout } from '../lib/worker/support/harness.ts';
import { withCapturedStdoutJson } from '../support/capture-stdout.ts';
import { CapturedMetrics } from './support/lambda-on-local-stack.ts';

const arn = activityArn('handoff-eks-runJob-sync');

/** Records a checkpoint and waits until the poller's window ends; resuming finishes at once. */
const waiting: Integration = {
  activitySuffix: 'eks-runJob-sync',
  run: (_input: unknown, context: TaskContext) => {
    context.checkpoint?.({ jobName: 'j' });
    return new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
    });
  },
  resume: async () => ({ resumed: true }),
};

describe('workerName across a hand-off', () => {
  test('the resumer’s lines of a handed-off task carry the workerName of the poll that took it', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const queue = new MemoryQueue();
    const runtime = makeTestRuntime({
      config: makeScaledConfig([arn]),
      logger: makeLogger({ logLevel: 'INFO' }),
      activityApi: api,
      integrations: [waiting],
      metrics: new CapturedMetrics({ namespace: 'EksActivityWorker', logger: silentLogger() }),
      handOffQueue: queue,
    });
    const token = api.enqueue(arn, {});
    const pollerLines = await withCapturedStdoutJson(() =>
      withTimeout(makePollerHandler(() => runtime)({}, makeCountdownContext(1_200) as never)),
    );
    assert.equal(queue.sent.length, 1, 'handed off');
    const polledName = String(api.callsOf('getActivityTask')[0]?.request.workerName);
    assert.match(polledName, /^lambda-test\/[0-9a-f]{12}$/);
    assert.ok(pollerLines.some((line) => line.workerName === polledName));

    const resumerLines = await withCapturedStdoutJson(() =>
      withTimeout(
        makeResumerHandler(() => runtime)(
          { Records: [{ messageId: 'm-1', body: queue.sent[0]?.body ?? '' }] },
          makeCountdownContext(1_200) as never,
        ),
      ),
    );
    assert.equal(api.answerFor(token)?.kind, 'success');
    const taskLines = resumerLines.filter((line) => line.taskId !== undefined);
    const messages = taskLines.map((line) => String(line.message));
    assert.ok(messages.includes('Task resumed'), messages.join(' | '));
    assert.ok(messages.includes('Task answered'), messages.join(' | '));
    for (const line of taskLines) assert.equal(line.workerName, polledName, String(line.message));
  });
});
