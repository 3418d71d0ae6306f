import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailedError } from '../../../../lib/errors.ts';
import type { KubeJob } from '../../../../lib/integrations/kube-job/job-api.ts';
import { waitForJobEnd } from '../../../../lib/integrations/kube-job/wait-for-job.ts';
import { VirtualClock } from '../../../support/virtual-clock.ts';
import { FakeJobApi, makeStatusError } from './support/fake-job-api.ts';

/** Every test bounds its wait so a bug fails fast instead of hanging. */
const testTimeoutMs = 3000;
/** Long enough that only the subscription can explain a quick finish. */
const slowPollMs = 60_000;
const pollMs = 1000;

const makeCreatedJob = async (api: FakeJobApi): Promise<KubeJob> =>
  api.createJob(
    'default',
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job-1' } },
    AbortSignal.timeout(testTimeoutMs),
  );

const startWait = (
  api: FakeJobApi,
  created: KubeJob,
  options: { pollIntervalMs?: number; signal?: AbortSignal; clock?: VirtualClock } = {},
) =>
  waitForJobEnd({
    api,
    namespace: 'default',
    name: created.metadata?.name ?? '',
    uid: created.metadata?.uid,
    pollIntervalMs: options.pollIntervalMs ?? slowPollMs,
    signal: options.signal ?? AbortSignal.timeout(testTimeoutMs),
    ...(options.clock ? { clock: options.clock } : {}),
  });

/** A fake whose subscriptions the API refuses for good: the wait has only polling left. */
const makeRefusingApi = () => {
  const api = new FakeJobApi();
  api.watchError = makeStatusError(403, 'Forbidden', 'watch is forbidden');
  return api;
};

describe('waiting for a Job', () => {
  test('completion arrives through the subscription without waiting for a poll', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created);
    await sleep(20);
    api.finishJob('default', 'job-1', 'Complete');
    const startedMs = Date.now();
    const finished = await waiting;
    assert.equal(finished.outcome, 'Complete');
    assert.ok(Date.now() - startedMs < 500);
    assert.equal(api.callsOf('getJob').length, 0);
    assert.deepEqual(api.callsOf('subscribeToJob')[0]?.args, ['default', 'job-1']);
  });

  test('a Job that finished before the subscription is seen at once (its latest state)', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    api.finishJob('default', 'job-1', 'Failed', 'BackoffLimitExceeded');
    const finished = await startWait(api, created);
    assert.equal(finished.outcome, 'Failed');
    assert.equal(api.callsOf('getJob').length, 0);
  });

  test('however long the Job runs, it is never read by itself: the subscription alone', async () => {
    const clock = new VirtualClock();
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, { pollIntervalMs: pollMs, clock });
    await clock.advance(100 * pollMs);
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
    assert.equal(api.callsOf('getJob').length, 0);
  });

  test('a Job deleted while waited on fails with EKS.JobFailed reason JobDeleted', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created);
    await sleep(20);
    api.removeJob('default', 'job-1');
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      assert.equal(error.errorName, 'EKS.JobFailed');
      assert.deepEqual((error.failureCause as { Condition: unknown }).Condition, {
        Type: 'Deleted',
        Reason: 'JobDeleted',
        Message: 'The Job was deleted before it completed or failed.',
      });
      return true;
    });
  });

  test("a DELETED with no uid (the shared watch's re-list found no such Job) fails with JobDeleted", async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created);
    await sleep(20);
    // Gone while the stream was silent: only the re-list notices.
    api.jobs.delete('default/job-1');
    api.relist('default', 'job-1');
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      assert.equal(error.errorName, 'EKS.JobFailed');
      return true;
    });
  });

  test('a watch refused for good falls back on polling', async () => {
    const clock = new VirtualClock();
    const api = makeRefusingApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, { pollIntervalMs: pollMs, clock });
    await clock.advance(pollMs);
    assert.equal(api.callsOf('getJob').length, 1);
    api.finishJob('default', 'job-1', 'Complete');
    await clock.advance(pollMs);
    assert.equal((await waiting).outcome, 'Complete');
    assert.equal(api.callsOf('getJob').length, 2);
  });

  test('a poll that finds the Job gone fails with JobDeleted', async () => {
    const clock = new VirtualClock();
    const api = makeRefusingApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, { pollIntervalMs: pollMs, clock });
    api.removeJob('default', 'job-1');
    void clock.advance(pollMs);
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.JobFailed';
    });
  });

  test('a poll that finds a new Job of the same name fails with JobDeleted', async () => {
    const clock = new VirtualClock();
    const api = makeRefusingApi();
    const created = await makeCreatedJob(api);
    api.removeJob('default', 'job-1');
    await makeCreatedJob(api);
    const waiting = startWait(api, created, { pollIntervalMs: pollMs, clock });
    void clock.advance(pollMs);
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.JobFailed';
    });
  });

  test('a 403 on the poll fails the wait with EKS.403', async () => {
    const clock = new VirtualClock();
    const api = makeRefusingApi();
    const created = await makeCreatedJob(api);
    api.getJobError = makeStatusError(403, 'Forbidden', 'forbidden');
    const waiting = startWait(api, created, { pollIntervalMs: pollMs, clock });
    void clock.advance(pollMs);
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.403';
    });
  });

  test('a transient poll failure is tolerated until a later poll succeeds', async () => {
    const clock = new VirtualClock();
    const api = makeRefusingApi();
    const created = await makeCreatedJob(api);
    api.getJobError = makeStatusError(503, 'ServiceUnavailable', 'busy');
    const waiting = startWait(api, created, { pollIntervalMs: pollMs, clock });
    await clock.advance(3 * pollMs);
    assert.equal(api.callsOf('getJob').length, 3);
    api.getJobError = undefined;
    api.finishJob('default', 'job-1', 'Complete');
    await clock.advance(pollMs);
    assert.equal((await waiting).outcome, 'Complete');
    assert.equal(api.callsOf('getJob').length, 4);
  });

  test('aborting the signal ends the wait with its reason and closes the subscription', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const controller = new AbortController();
    const waiting = startWait(api, created, { signal: controller.signal });
    await sleep(20);
    assert.equal(api.openSubscriptions, 1);
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(waiting, (error: unknown) => error === reason);
    assert.equal(api.openSubscriptions, 0);
  });

  test('aborting the signal while polling ends the wait and stops the polling', async () => {
    const clock = new VirtualClock();
    const api = makeRefusingApi();
    const created = await makeCreatedJob(api);
    const controller = new AbortController();
    const waiting = startWait(api, created, {
      pollIntervalMs: pollMs,
      clock,
      signal: controller.signal,
    });
    await clock.advance(pollMs);
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(waiting, (error: unknown) => error === reason);
    assert.equal(clock.pending, 0);
  });
});
