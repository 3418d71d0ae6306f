/**
 * The answer metrics the alarms in serverless.yml read (AnswersLost, AnswersHandedOff,
 * HandedOffAnswersDelivered), counted by the deployed handlers over in-memory Step Functions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePollerHandler } from '../../../functions/poller.ts';
import { makeResumerHandler } from '../../../functions/resumer.ts';
import type { Integration } from '../../../lib/integrations/types.ts';
import { CapturedMetrics } from '../../functions/support/lambda-on-local-stack.ts';
import { FakeActivityApi, makeSfnError } from '../worker/support/fake-activity-api.ts';
import { activityArn, silentLogger, withTimeout } from '../worker/support/harness.ts';
import {
  MemoryQueue,
  makeCountdownContext,
  makeScaledConfig,
  makeTestRuntime,
} from './support/lambda-fakes.ts';

const arn = activityArn('metrics-eks-call');
const echo: Integration = { activitySuffix: 'eks-call', run: async () => ({ ok: true }) };

const makeRuntime = (api: FakeActivityApi, queue: MemoryQueue) => {
  const metrics = new CapturedMetrics({ namespace: 'EksActivityWorker', logger: silentLogger() });
  const runtime = makeTestRuntime({
    config: makeScaledConfig([arn]),
    logger: silentLogger(),
    activityApi: api,
    integrations: [echo],
    metrics,
    handOffQueue: queue,
  });
  return { runtime, metrics };
};

describe('answer metrics', () => {
  test('an answer refused permanently counts as AnswersLost', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const { runtime, metrics } = makeRuntime(api, new MemoryQueue());
    api.failNext('sendTaskSuccess', makeSfnError('AccessDeniedException', 400));
    api.enqueue(arn, {});
    await withTimeout(makePollerHandler(() => runtime)({}, makeCountdownContext(1_200) as never));
    assert.equal(metrics.total('TasksSucceeded'), 1);
    assert.equal(metrics.total('AnswersLost'), 1);
    assert.equal(metrics.total('AnswersHandedOff'), 0);
  });

  test('an answer throttled to the end is handed off; the resumer delivering it is counted', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const queue = new MemoryQueue();
    const { runtime, metrics } = makeRuntime(api, queue);
    api.failNext(
      'sendTaskSuccess',
      ...Array.from({ length: 200 }, () => makeSfnError('ThrottlingException', 400)),
    );
    const token = api.enqueue(arn, {});
    await withTimeout(makePollerHandler(() => runtime)({}, makeCountdownContext(1_200) as never));
    assert.equal(metrics.total('AnswersHandedOff'), 1);
    assert.equal(metrics.total('AnswersLost'), 0);
    assert.equal(queue.sent.length, 1);

    const resumer = new FakeActivityApi();
    const { runtime: resumerRuntime, metrics: resumerMetrics } = makeRuntime(
      resumer,
      new MemoryQueue(),
    );
    const response = await withTimeout(
      makeResumerHandler(() => resumerRuntime)(
        { Records: [{ messageId: 'm-1', body: queue.sent[0]?.body ?? '' }] },
        makeCountdownContext(1_200) as never,
      ),
    );
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(resumer.answerFor(token)?.kind, 'success');
    assert.equal(resumerMetrics.total('HandedOffAnswersDelivered'), 1);
    assert.equal(resumerMetrics.total('AnswersLost'), 0);
  });
});
