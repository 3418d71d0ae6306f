import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { LocalLambdaFunction } from '../../../infra/local-stack/lambda/local-function.ts';
import {
  type SqsEventSource,
  type SqsEventSourceOptions,
  startSqsEventSource,
} from '../../../infra/local-stack/lambda/sqs-event-source.ts';
import {
  batchesSeen,
  collectLogs,
  createSqsFunction,
  type Queues,
  startQueues,
  waitFor,
} from './support.ts';

const secondMs = 20;
const reportFailures = { functionResponseTypes: ['ReportBatchItemFailures'] as const };

describe('local Lambda: what the SQS event source deletes and what comes back', () => {
  let queues: Queues;
  const running: { source?: SqsEventSource; fn?: LocalLambdaFunction } = {};
  before(async () => {
    queues = await startQueues(secondMs);
  });
  afterEach(async () => {
    await running.source?.stop({ force: true });
    await running.fn?.close();
  });
  after(async () => {
    await queues.close();
  });

  /** A queue with `bodies` waiting, and a mapping with one poller (one batch at a time). */
  const start = async (
    bodies: unknown[],
    options: { visibilitySeconds: number; timeoutMs: number } & Omit<
      SqsEventSourceOptions,
      'function' | 'sqs' | 'queueUrl'
    >,
  ) => {
    const { visibilitySeconds, timeoutMs, ...settings } = options;
    const queueUrl = await queues.createQueue(visibilitySeconds);
    const ids = await queues.send(queueUrl, bodies);
    const logs = collectLogs();
    running.fn = createSqsFunction(timeoutMs, logs);
    running.source = await startSqsEventSource({
      queueUrl,
      function: running.fn,
      sqs: queues.connection,
      sqsSecondMs: secondMs,
      scaling: { initialPollers: 1 },
      ...settings,
    });
    const inFlightIds = () =>
      (queues.sqs.inspect.queue(queueUrl)?.inFlight ?? []).map((m) => m.messageId).sort();
    const remaining = () => {
      const queue = queues.sqs.inspect.queue(queueUrl);
      return (queue?.visible.length ?? 0) + (queue?.inFlight.length ?? 0);
    };
    return { ids, logs, source: running.source, fn: running.fn, inFlightIds, remaining };
  };

  test('batchItemFailures keep exactly the records listed; the rest are deleted', async () => {
    const bodies = [{}, { fail: true }, {}, {}, { fail: true }, {}];
    // Visibility 200 s = 4 s: the kept records stay in flight for the whole test.
    const run = await start(bodies, {
      visibilitySeconds: 200,
      timeoutMs: 2_000,
      ...reportFailures,
    });
    await waitFor('the batch settled', () => run.source.stats().invocationsEnded === 1);
    const [invocation] = run.source.stats().invocations;
    assert.equal(invocation?.messageIds.length, 6);
    assert.equal(invocation?.settlement, 'partial');
    assert.equal(invocation?.reportedFailures, 2);
    assert.equal(invocation?.deleted, 4);
    assert.deepEqual(run.inFlightIds(), [run.ids[1], run.ids[4]].sort());
    assert.equal(run.remaining(), 2);
  });

  test('without ReportBatchItemFailures the same answer deletes the whole batch', async () => {
    const run = await start([{}, { fail: true }], { visibilitySeconds: 200, timeoutMs: 2_000 });
    await waitFor('the batch settled', () => run.source.stats().invocationsEnded === 1);
    assert.equal(run.source.stats().invocations[0]?.settlement, 'deleted-all');
    assert.equal(run.remaining(), 0);
  });

  for (const [what, respond] of [
    [
      'an identifier not in the batch',
      { batchItemFailures: [{ itemIdentifier: 'not-a-message' }] },
    ],
    ['an empty identifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a bad key name', { batchItemFailures: [{ id: 'x' }] }],
    ['a string', 'all good'],
  ] as const) {
    test(`a malformed answer (${what}) fails the whole batch`, async () => {
      const run = await start([{ respond }, {}, {}], {
        visibilitySeconds: 200,
        timeoutMs: 2_000,
        ...reportFailures,
      });
      await waitFor('the batch settled', () => run.source.stats().invocationsEnded === 1);
      assert.equal(run.source.stats().invocations[0]?.settlement, 'malformed-response');
      assert.equal(run.source.stats().malformedResponses, 1);
      assert.deepEqual(run.inFlightIds(), [...run.ids].sort());
    });
  }

  test('a throwing invocation deletes nothing; the batch comes back after the visibility timeout', async () => {
    // Visibility 25 s = 500 ms.
    const run = await start([{ throwOn: 1 }, {}], {
      visibilitySeconds: 25,
      timeoutMs: 500,
      ...reportFailures,
    });
    await waitFor('both records deleted', () => run.source.stats().recordsDeleted === 2);
    const [first, second] = batchesSeen(run.logs);
    assert.deepEqual(
      first?.records.map((r) => r.receiveCount),
      [1, 1],
    );
    assert.deepEqual(
      second?.records.map((r) => r.receiveCount),
      [2, 2],
    );
    assert.deepEqual(
      second?.records.map((r) => r.id).sort(),
      first?.records.map((r) => r.id).sort(),
    );
    // From the first receive (the visibility timeout's start) to the second batch.
    const gapMs = (second?.at ?? 0) - (first?.records[0]?.firstReceivedAt ?? 0);
    assert.ok(gapMs >= 500, `the batch came back after ${gapMs} ms (visibility 500 ms)`);
    const stats = run.source.stats();
    assert.equal(stats.invocationsFailed, 1);
    assert.equal(stats.invocations[0]?.errorType, 'Error');
    assert.equal(stats.invocations[0]?.deleted, 0);
    assert.equal(stats.invocationsSucceeded, 1);
  });

  test('a timed-out invocation kills its sandbox; its records come back', async () => {
    const run = await start([{ hangOn: 1 }], { visibilitySeconds: 25, timeoutMs: 400 });
    await waitFor('the record deleted', () => run.source.stats().recordsDeleted === 1);
    const [timedOut, retried] = run.source.stats().invocations;
    assert.equal(timedOut?.status, 'timedOut');
    assert.equal(timedOut?.errorType, 'Sandbox.Timedout');
    assert.equal(retried?.status, 'succeeded');
    assert.notEqual(retried?.sandboxId, timedOut?.sandboxId, 'the timed-out sandbox was ended');
    assert.ok(!run.fn.sandboxes().some((sandbox) => sandbox.id === timedOut?.sandboxId));
    assert.deepEqual(
      batchesSeen(run.logs).map((batch) => batch.records[0]?.receiveCount),
      [1, 2],
    );
  });

  test('a sandbox that dies mid-invocation fails it; its records come back', async () => {
    const run = await start([{ hangOn: 1 }, {}], { visibilitySeconds: 50, timeoutMs: 1_000 });
    await waitFor('the handler hanging', () => run.logs.json('batch-hang').length === 1);
    assert.notEqual(run.fn.crashOneBusySandbox(), undefined);
    await waitFor('both records deleted', () => run.source.stats().recordsDeleted === 2);
    const [crashed, retried] = run.source.stats().invocations;
    assert.equal(crashed?.status, 'crashed');
    assert.equal(crashed?.errorType, 'Runtime.ExitError');
    assert.equal(crashed?.deleted, 0);
    assert.equal(retried?.status, 'succeeded');
    assert.deepEqual(
      batchesSeen(run.logs).map((batch) => batch.records.map((r) => r.receiveCount)),
      [
        [1, 1],
        [2, 2],
      ],
    );
  });
});
