import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { LocalLambdaFunction } from '../../../infra/local-stack/lambda/local-function.ts';
import {
  type SqsEventSource,
  type SqsEventSourceOptions,
  startSqsEventSource,
} from '../../../infra/local-stack/lambda/sqs-event-source.ts';
import {
  collectLogs,
  createSqsFunction,
  maxOverlap,
  type Queues,
  startQueues,
  waitFor,
} from './support.ts';

const secondMs = 20;

describe('local Lambda: the SQS event source scales within maximumConcurrency', () => {
  let queues: Queues;
  const running: { source?: SqsEventSource; fn?: LocalLambdaFunction } = {};
  before(async () => {
    queues = await startQueues(secondMs);
  });
  afterEach(async () => {
    await running.source?.stop({ force: true });
    await running.fn?.close();
    running.source = undefined;
  });
  after(async () => {
    await queues.close();
  });

  const start = async (
    queueUrl: string,
    settings: Omit<SqsEventSourceOptions, 'function' | 'sqs' | 'queueUrl'>,
    timeoutMs = 2_000,
  ) => {
    const logs = collectLogs();
    running.fn = createSqsFunction(timeoutMs, logs);
    running.source = await startSqsEventSource({
      queueUrl,
      function: running.fn,
      sqs: queues.connection,
      sqsSecondMs: secondMs,
      ...settings,
    });
    return { logs, source: running.source, fn: running.fn };
  };

  for (const maximumConcurrency of [2, 4]) {
    test(`maximumConcurrency ${maximumConcurrency} is reached and never exceeded`, async () => {
      const queueUrl = await queues.createQueue(500);
      const count = maximumConcurrency * 5;
      await queues.send(
        queueUrl,
        Array.from({ length: count }, () => ({ sleepMs: 200 })),
      );
      const { logs, source } = await start(queueUrl, { batchSize: 1, maximumConcurrency });
      await waitFor('every record deleted', () => source.stats().recordsDeleted === count);
      // Measured by the handlers themselves, and by the mapping.
      assert.equal(maxOverlap(logs), maximumConcurrency);
      assert.equal(source.stats().maxConcurrentInvocations, maximumConcurrency);
      assert.ok(source.stats().maxPollers <= maximumConcurrency);
    });
  }

  test('pollers grow while batches come full, then fall back to five', async () => {
    const queueUrl = await queues.createQueue(500);
    const count = 300;
    await queues.send(
      queueUrl,
      Array.from({ length: count }, () => ({ sleepMs: 100 })),
    );
    const { logs, source, fn } = await start(queueUrl, { batchSize: 1, maximumConcurrency: 20 });
    await waitFor('every record deleted', () => source.stats().recordsDeleted === count, 20_000);
    const stats = source.stats();
    assert.ok(stats.maxPollers > 5, `pollers reached ${stats.maxPollers}`);
    assert.ok(stats.maxPollers <= 20, `pollers reached ${stats.maxPollers}`);
    assert.ok(maxOverlap(logs) > 5 && maxOverlap(logs) <= 20, `overlap ${maxOverlap(logs)}`);
    assert.ok(fn.sandboxes().length > 5, 'the function ran more sandboxes as pollers grew');
    // Empty polls retire the pollers added for the backlog.
    await waitFor('pollers back at five', () => source.stats().pollers === 5, 10_000);
  });

  test('stop waits for the invocations in flight; a forced stop kills them', async () => {
    const queueUrl = await queues.createQueue(500);
    await queues.send(queueUrl, [{ sleepMs: 600 }, { sleepMs: 600 }]);
    const graceful = await start(queueUrl, { batchSize: 1 });
    await waitFor(
      'two invocations in flight',
      () => graceful.logs.json('batch-start').length === 2,
    );
    const stoppingAt = Date.now();
    await graceful.source.stop();
    assert.ok(Date.now() - stoppingAt >= 400, 'stop returned before the invocations ended');
    assert.equal(graceful.source.stats().recordsDeleted, 2);
    assert.equal(graceful.source.stats().pollers, 0);
    await graceful.fn.close();

    const slowQueueUrl = await queues.createQueue(1_000);
    await queues.send(slowQueueUrl, [{ sleepMs: 10_000 }, { sleepMs: 10_000 }]);
    const forced = await start(slowQueueUrl, { batchSize: 1 }, 20_000);
    await waitFor('two invocations in flight', () => forced.logs.json('batch-start').length === 2);
    const forcedAt = Date.now();
    await forced.source.stop({ force: true });
    assert.ok(Date.now() - forcedAt < 2_000, 'a forced stop waited for the handlers');
    const stats = forced.source.stats();
    assert.equal(stats.invocationsCrashed, 2);
    assert.equal(stats.recordsDeleted, 0);
    const queue = queues.sqs.inspect.queue(slowQueueUrl);
    assert.equal(queue?.inFlight.length, 2, 'the killed batches wait for their visibility timeout');
  });
});
