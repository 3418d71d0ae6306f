import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePollerHandler } from '../../functions/poller.ts';
import { makeResumerHandler } from '../../functions/resumer.ts';
import type { Integration } from '../../lib/integrations/types.ts';
import {
  MemoryQueue,
  makeCountdownContext,
  makeScaledConfig,
  makeTestRuntime,
} from '../lib/hosts/support/lambda-fakes.ts';
import { FakeActivityApi } from '../lib/worker/support/fake-activity-api.ts';
import { activityArn, silentLogger, withTimeout } from '../lib/worker/support/harness.ts';
import { CapturedMetrics } from './support/lambda-on-local-stack.ts';

const arn = activityArn('fn-eks-call');
const echo: Integration = { activitySuffix: 'eks-call', run: async (input) => ({ echoed: input }) };

const makeRuntime = (api: FakeActivityApi, withQueue = true) => {
  const metrics = new CapturedMetrics({ namespace: 'EksActivityWorker', logger: silentLogger() });
  const runtime = makeTestRuntime({
    config: makeScaledConfig([arn]),
    logger: silentLogger(),
    activityApi: api,
    integrations: [echo],
    metrics,
    ...(withQueue ? { handOffQueue: new MemoryQueue() } : {}),
  });
  return { runtime, metrics };
};

describe('Lambda handlers', () => {
  test('the poller handler answers tasks and flushes EMF metrics once per invocation', async () => {
    const api = new FakeActivityApi({ longPollMs: 100 });
    const { runtime, metrics } = makeRuntime(api);
    const handler = makePollerHandler(() => runtime);
    const token = api.enqueue(arn, { a: 1 });
    await withTimeout(handler({}, makeCountdownContext(1_200) as never), 3_000);
    assert.deepEqual(api.answerFor(token), {
      kind: 'success',
      taskToken: token,
      output: JSON.stringify({ echoed: { a: 1 } }),
    });
    assert.equal(metrics.documents.length, 1);
    const [document] = metrics.documents as {
      _aws: { CloudWatchMetrics: { Namespace: string }[] };
    }[];
    assert.equal(document?._aws.CloudWatchMetrics[0]?.Namespace, 'EksActivityWorker');
    assert.equal(metrics.total('TasksStarted'), 1);
    assert.equal(metrics.total('TasksSucceeded'), 1);
  });

  test('the runtime is built once, on the first invocation, and reused by the next', async () => {
    const api = new FakeActivityApi({ longPollMs: 50 });
    let builds = 0;
    const { runtime } = makeRuntime(api);
    const handler = makePollerHandler(() => {
      builds += 1;
      return runtime;
    });
    assert.equal(builds, 0, 'nothing is read at import or creation');
    await handler({}, makeCountdownContext(900) as never);
    await handler({}, makeCountdownContext(900) as never);
    assert.equal(builds, 1);
  });

  test('the resumer handler refuses a batch when no hand-off queue is configured', async () => {
    const api = new FakeActivityApi();
    const { runtime } = makeRuntime(api, false);
    const handler = makeResumerHandler(() => runtime);
    await assert.rejects(
      handler({ Records: [] }, makeCountdownContext(1_000) as never),
      /EKS_WORKER_HANDOFF_QUEUE_URL/,
    );
  });

  test('the resumer handler returns the partial batch response', async () => {
    const api = new FakeActivityApi();
    const { runtime } = makeRuntime(api);
    const handler = makeResumerHandler(() => runtime);
    const response = await handler(
      { Records: [{ messageId: 'm-1', body: 'not json' }] },
      makeCountdownContext(1_000) as never,
    );
    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });
});
