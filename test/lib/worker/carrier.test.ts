import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { Integration, TaskContext } from '../../../lib/integrations/types.ts';
import { type Carrier, type CarrierOptions, startCarrier } from '../../../lib/worker/carrier.ts';
import { type LeaseQueue, systemClock } from '../../../lib/worker/ports.ts';
import { makeTaskRunnerEnvironment } from '../../../lib/worker/worker.ts';
import { type LocalLeaseQueue, startLocalLeaseQueue } from '../../support/local-lease-queue.ts';
import { FakeActivityApi, makeSfnError } from './support/fake-activity-api.ts';
import { activityArn, delay, silentLogger, withTimeout } from './support/harness.ts';

const activityName = 'carrier-eks-runJob-sync';
const arn = activityArn(activityName);
/** One SQS second of the local queue, in ms: a 5-second lease lasts 100 ms. */
const secondMs = 20;
const leaseSeconds = 5;

/**
 * A resumable wait: `resume` finishes with the checkpoint's Job once `finish(jobName)` is called;
 * `run` records a checkpoint, then waits the same way.
 */
const makeWaitIntegration = () => {
  const finished = new Set<string>();
  const waiters = new Set<() => void>();
  const calls: { kind: 'run' | 'resume'; checkpoint?: unknown }[] = [];
  const waitFor = (jobName: string, context: TaskContext): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (finished.has(jobName)) {
          waiters.delete(check);
          resolve({ jobName, done: true });
        }
      };
      if (context.signal.aborted) return reject(context.signal.reason);
      context.signal.addEventListener(
        'abort',
        () => {
          waiters.delete(check);
          reject(context.signal.reason);
        },
        { once: true },
      );
      waiters.add(check);
      check();
    });
  const integration: Integration = {
    activitySuffix: 'eks-runJob-sync',
    run: async (input, context) => {
      calls.push({ kind: 'run' });
      const jobName = (input as { jobName: string }).jobName;
      context.checkpoint?.({ jobName });
      return waitFor(jobName, context);
    },
    resume: async (_input, checkpoint, context) => {
      calls.push({ kind: 'resume', checkpoint });
      return waitFor(String(checkpoint.jobName), context);
    },
  };
  return {
    integration,
    calls,
    finish: (jobName: string) => {
      finished.add(jobName);
      for (const waiter of [...waiters]) waiter();
    },
  };
};

const parkedMessage = (taskToken: string, jobName: string, checkpoint = true) =>
  JSON.stringify({
    version: 1,
    taskToken,
    activityArn: arn,
    activityName,
    input: JSON.stringify({ jobName }),
    ...(checkpoint ? { checkpoint: { jobName } } : {}),
    handOffCount: 1,
    firstReceivedAt: new Date().toISOString(),
  });

/** Waits until `predicate` holds, polling every 10 ms. */
const until = async (predicate: () => boolean, what: string, timeoutMs = 3_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(10);
  }
};

describe('carrier', () => {
  let server: LocalLeaseQueue;
  let local: LocalLeaseQueue;
  let carriers: Carrier[];

  before(async () => {
    server = await startLocalLeaseQueue({ secondMs, maxReceiveCount: 3 });
  });
  after(async () => {
    await server.close();
  });
  // Each test gets its own queue, so a lease left running by one cannot reach the next.
  beforeEach(async () => {
    carriers = [];
    local = await server.nextQueue();
  });
  afterEach(async () => {
    await Promise.all(carriers.map((carrier) => withTimeout(carrier.stop(), 3_000)));
  });

  const start = (
    api: FakeActivityApi,
    integration: Integration,
    overrides: Partial<CarrierOptions> & { heartbeatIntervalMs?: number } = {},
  ): Carrier => {
    const logger = silentLogger();
    const carrier = startCarrier({
      queue: local.queue,
      integrations: [integration],
      environment: makeTaskRunnerEnvironment(
        {
          heartbeatIntervalMs: overrides.heartbeatIntervalMs ?? 1_000,
          cleanupOnAbandon: false,
          abortSettleMs: 200,
        },
        { activityApi: api, logger },
        new AbortController().signal,
      ),
      leaseSeconds,
      renewIntervalMs: (leaseSeconds * secondMs) / 2,
      maxCarriedTasks: 100,
      receive: true,
      endWhenIdle: false,
      carryAnswers: false,
      logger,
      clock: systemClock,
      random: Math.random,
      ...overrides,
    });
    carriers.push(carrier);
    return carrier;
  };

  test('a parked wait is resumed from its checkpoint, heartbeated at once, answered, and its message deleted', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    await local.queue.send(parkedMessage('token-1', 'job-1'), { delaySeconds: 0 });
    start(api, wait.integration);
    await until(() => wait.calls.length === 1, 'the wait is resumed');
    assert.deepEqual(wait.calls[0], { kind: 'resume', checkpoint: { jobName: 'job-1' } });
    await until(() => api.callsOf('sendTaskHeartbeat').length > 0, 'a heartbeat');
    wait.finish('job-1');
    await api.waitForAnswers(1);
    assert.deepEqual(api.answers[0], {
      kind: 'success',
      taskToken: 'token-1',
      output: JSON.stringify({ jobName: 'job-1', done: true }),
    });
    await until(() => local.messages().length === 0, 'the message is deleted');
  });

  test('leases are renewed: another carrier gets nothing while the wait lasts many leases', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    await local.queue.send(parkedMessage('token-2', 'job-2'), { delaySeconds: 0 });
    start(api, wait.integration);
    await until(() => wait.calls.length === 1, 'the first carrier has it');
    const second = makeWaitIntegration();
    start(new FakeActivityApi(), second.integration);
    await delay(leaseSeconds * secondMs * 6);
    assert.equal(second.calls.length, 0, 'the second carrier never received the message');
    assert.equal(local.snapshot().inFlight.length, 1);
    assert.equal(local.snapshot().inFlight[0]?.receiveCount, 1, 'received once in six leases');
  });

  test('a renewal that fails is tried again within the half lease left: the lease is kept', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    await local.queue.send(parkedMessage('token-r', 'job-r'), { delaySeconds: 0 });
    let failNextRenewals = 0;
    let renewals = 0;
    const flaky: LeaseQueue = {
      ...local.queue,
      changeVisibilities: async (entries) => {
        renewals += 1;
        if (failNextRenewals > 0) {
          failNextRenewals -= 1;
          throw makeSfnError('ServiceUnavailable', 503);
        }
        return local.queue.changeVisibilities(entries);
      },
    };
    start(api, wait.integration, { queue: flaky });
    await until(() => wait.calls.length === 1, 'the wait is carried');
    failNextRenewals = 1;
    const before = renewals;
    const other = makeWaitIntegration();
    start(new FakeActivityApi(), other.integration);
    await delay(leaseSeconds * secondMs * 4);
    assert.ok(
      renewals - before >= 3,
      `renewed again after the failure (${renewals - before} calls)`,
    );
    assert.equal(other.calls.length, 0, 'no other carrier got the message');
    assert.equal(local.snapshot().inFlight[0]?.receiveCount, 1);
  });

  test('a carrier that stops renewing loses the wait to another within a lease; the loser drops it silently', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    await local.queue.send(parkedMessage('token-3', 'job-3'), { delaySeconds: 0 });
    let renewalsBlocked = false;
    const blockable: LeaseQueue = {
      ...local.queue,
      changeVisibilities: async (entries) => {
        if (renewalsBlocked) throw makeSfnError('ServiceUnavailable', 503);
        return local.queue.changeVisibilities(entries);
      },
    };
    // The loser heartbeats rarely, so what ends its carrying is the lost lease, not the answer.
    start(api, wait.integration, { queue: blockable, heartbeatIntervalMs: 60_000 });
    await until(() => wait.calls.length === 1, 'the first carrier has it');
    renewalsBlocked = true;
    const successor = makeWaitIntegration();
    const successorApi = new FakeActivityApi();
    const startedAtMs = Date.now();
    start(successorApi, successor.integration);
    await until(() => successor.calls.length === 1, 'the successor resumes it');
    const takeOverMs = Date.now() - startedAtMs;
    assert.ok(
      takeOverMs <= leaseSeconds * secondMs * 3,
      `taken over in ${takeOverMs} ms, within about a lease`,
    );
    assert.deepEqual(successor.calls[0], { kind: 'resume', checkpoint: { jobName: 'job-3' } });
    successor.finish('job-3');
    await successorApi.waitForAnswers(1);
    // The loser's next renewal finds the message gone: it stops without an answer or a message.
    renewalsBlocked = false;
    await until(() => local.messages().length === 0, 'the successor deleted the message');
    await delay(leaseSeconds * secondMs * 2);
    wait.finish('job-3');
    await delay(50);
    assert.equal(api.answers.length, 0, 'the loser sent no answer');
    assert.equal(local.messages().length, 0, 'and no new message');
  });

  test('stop hands every carried wait back at once, and another carrier carries it on', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    for (const n of [1, 2, 3]) {
      await local.queue.send(parkedMessage(`token-4${n}`, `job-4${n}`), { delaySeconds: 0 });
    }
    const first = start(api, wait.integration);
    await until(() => first.carriedCount === 3, 'all three are carried');
    const stoppedAtMs = Date.now();
    await withTimeout(first.stop(), 2_000);
    assert.ok(Date.now() - stoppedAtMs < 1_000, 'handed back at once, not after a lease');
    const handedBack = local.messages();
    assert.equal(handedBack.length, 3, 'one message per wait: the old ones are deleted');
    for (const message of handedBack) {
      assert.equal(message.handOffCount, 2);
      assert.ok(message.checkpoint, 'with its checkpoint');
    }
    assert.equal(api.answers.length, 0);
    const next = makeWaitIntegration();
    const nextApi = new FakeActivityApi();
    start(nextApi, next.integration);
    await until(() => next.calls.length === 3, 'the next carrier resumes all three');
    for (const n of [1, 2, 3]) next.finish(`job-4${n}`);
    await nextApi.waitForAnswers(3);
  });

  test('a carried task without a checkpoint is parked again as soon as it records one', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    await local.queue.send(parkedMessage('token-5', 'job-5', false), { delaySeconds: 0 });
    start(api, wait.integration);
    await until(() => wait.calls.some((call) => call.kind === 'resume'), 'resumed after re-park');
    assert.deepEqual(
      wait.calls.map((call) => call.kind),
      ['run', 'resume'],
      'run once from scratch, then resumed from the new message',
    );
    await until(() => local.messages().length === 1, 'the message without a checkpoint is deleted');
    assert.deepEqual(
      local.messages().map((message) => message.checkpoint),
      [{ jobName: 'job-5' }],
    );
    wait.finish('job-5');
    await api.waitForAnswers(1);
    assert.equal(api.answers.length, 1);
  });

  test('it holds at most maxCarriedTasks; the rest wait in the queue until there is room', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    for (const n of [1, 2, 3, 4, 5]) {
      await local.queue.send(parkedMessage(`token-6${n}`, `job-6${n}`), { delaySeconds: 0 });
    }
    const carrier = start(api, wait.integration, { maxCarriedTasks: 2 });
    await until(() => carrier.carriedCount === 2, 'two are carried');
    await delay(leaseSeconds * secondMs * 2);
    assert.equal(carrier.carriedCount, 2);
    assert.equal(local.snapshot().visible.length, 3, 'three wait, visible to other carriers');
    for (const call of wait.calls)
      wait.finish(String((call.checkpoint as { jobName: string }).jobName));
    await until(() => carrier.carriedCount === 2 && api.answers.length >= 2, 'room again');
    for (const n of [1, 2, 3, 4, 5]) wait.finish(`job-6${n}`);
    await api.waitForAnswers(5);
  });

  test('an unreadable message is not deleted: it returns until it lands in the dead-letter queue', async () => {
    const api = new FakeActivityApi();
    const wait = makeWaitIntegration();
    await local.queue.send('{"version":1,"taskToken":"t"}', { delaySeconds: 0 });
    start(api, wait.integration);
    await until(
      () => local.sqs.inspect.deadLetters(local.queueUrl).length === 1,
      'the message is in the dead-letter queue',
    );
    assert.equal(local.messages().length, 0);
    assert.equal(wait.calls.length, 0);
  });
});
