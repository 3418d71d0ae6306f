import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailedError } from '../../../../lib/errors.ts';
import type { KubeJob } from '../../../../lib/integrations/kube-job/job-api.ts';
import { waitForJobEnd } from '../../../../lib/integrations/kube-job/wait-for-job.ts';
import { FakeJobApi, makeStatusError } from './support/fake-job-api.ts';

/** Every test bounds its wait so a bug fails fast instead of hanging. */
const testTimeoutMs = 3000;
/** Long enough that only the watch can explain a quick finish. */
const slowPollMs = 60_000;

const makeCreatedJob = async (api: FakeJobApi): Promise<KubeJob> =>
  api.createJob(
    'default',
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job-1' } },
    AbortSignal.timeout(testTimeoutMs),
  );

const startWait = (
  api: FakeJobApi,
  created: KubeJob,
  pollIntervalMs: number,
  signal?: AbortSignal,
) =>
  waitForJobEnd({
    api,
    namespace: 'default',
    name: created.metadata?.name ?? '',
    uid: created.metadata?.uid,
    resourceVersion: created.metadata?.resourceVersion ?? '',
    pollIntervalMs,
    watchRetryDelayMs: 10,
    signal: signal ?? AbortSignal.timeout(testTimeoutMs),
  });

describe('waiting for a Job', () => {
  test('completion arrives through the watch without waiting for a poll', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, slowPollMs);
    await sleep(20);
    api.finishJob('default', 'job-1', 'Complete');
    const startedMs = Date.now();
    const finished = await waiting;
    assert.equal(finished.outcome, 'Complete');
    assert.ok(Date.now() - startedMs < 500);
    assert.equal(api.callsOf('getJob').length, 0);
  });

  test('the watch starts from the resourceVersion of the create answer', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    // The Job finishes before the watch opens: replaying from that version still shows it.
    api.finishJob('default', 'job-1', 'Failed', 'BackoffLimitExceeded');
    const finished = await startWait(api, created, slowPollMs);
    assert.equal(finished.outcome, 'Failed');
    assert.equal(api.callsOf('watchJob')[0]?.args[2], created.metadata?.resourceVersion);
  });

  test('a dropped watch resumes from the last resourceVersion it saw', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, slowPollMs);
    await sleep(20);
    const progressed = api.updateJob('default', 'job-1', (job) => {
      job.status = { active: 1 };
    });
    await sleep(10);
    api.dropWatches();
    await sleep(20);
    api.finishJob('default', 'job-1', 'Complete');
    const finished = await waiting;
    assert.equal(finished.outcome, 'Complete');
    const watches = api.callsOf('watchJob').map((call) => call.args[2]);
    assert.deepEqual(watches.slice(0, 2), [
      created.metadata?.resourceVersion,
      progressed.metadata?.resourceVersion,
    ]);
  });

  test('a 410 Expired watch re-reads the Job and watches from its fresh version', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    api.expireNextWatch = true;
    const current = api.updateJob('default', 'job-1', (job) => {
      job.status = { active: 1 };
    });
    const waiting = startWait(api, created, slowPollMs);
    await sleep(50);
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
    assert.equal(api.callsOf('getJob').length, 1);
    assert.equal(api.callsOf('watchJob')[1]?.args[2], current.metadata?.resourceVersion);
  });

  test('a watch refused with HTTP 410 is handled like an Expired event', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const original = api.watchJob.bind(api);
    let refused = false;
    api.watchJob = async (...args) => {
      if (!refused) {
        refused = true;
        throw makeStatusError(410, 'Gone', 'too old resource version');
      }
      return original(...args);
    };
    const waiting = startWait(api, created, slowPollMs);
    await sleep(50);
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
    assert.equal(api.callsOf('getJob').length, 1);
  });

  test('polling notices the end when the watch is silently stuck', async () => {
    const api = new FakeJobApi();
    api.watchMode = 'silent';
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, 50);
    await sleep(20);
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
    assert.ok(api.callsOf('getJob').length >= 1);
  });

  test('a Job deleted while waited on fails with EKS.JobFailed reason JobDeleted', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, slowPollMs);
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

  test('a poll that finds the Job gone fails with JobDeleted', async () => {
    const api = new FakeJobApi();
    api.watchMode = 'silent';
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, 30);
    api.removeJob('default', 'job-1');
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.JobFailed';
    });
  });

  test('a poll that finds a new Job of the same name fails with JobDeleted', async () => {
    const api = new FakeJobApi();
    api.watchMode = 'silent';
    const created = await makeCreatedJob(api);
    api.removeJob('default', 'job-1');
    await makeCreatedJob(api);
    await assert.rejects(startWait(api, created, 30), (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.JobFailed';
    });
  });

  test('a 403 on the poll fails the wait with EKS.403', async () => {
    const api = new FakeJobApi();
    api.watchMode = 'silent';
    const created = await makeCreatedJob(api);
    api.getJobError = makeStatusError(403, 'Forbidden', 'forbidden');
    await assert.rejects(startWait(api, created, 30), (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.403';
    });
  });

  test('a transient poll failure is tolerated until a later poll succeeds', async () => {
    const api = new FakeJobApi();
    api.watchMode = 'silent';
    const created = await makeCreatedJob(api);
    api.getJobError = makeStatusError(503, 'ServiceUnavailable', 'busy');
    const waiting = startWait(api, created, 20);
    await sleep(60);
    api.getJobError = undefined;
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
  });

  test('aborting the signal ends the wait with its reason and closes the watch', async () => {
    const api = new FakeJobApi();
    const created = await makeCreatedJob(api);
    const controller = new AbortController();
    const waiting = startWait(api, created, slowPollMs, controller.signal);
    await sleep(20);
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(waiting, (error: unknown) => error === reason);
    assert.equal(api.openWatches, 0);
  });

  test('with an adapter that re-lists on its own, the Job is never read by itself', async () => {
    const api = new FakeJobApi();
    api.watchResyncIntervalMs = 60_000;
    const created = await makeCreatedJob(api);
    const waiting = startWait(api, created, 20);
    await sleep(150);
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
    assert.equal(api.callsOf('getJob').length, 0);
  });

  test("a DELETED with no uid (the adapter's re-list found no such Job) fails with JobDeleted", async () => {
    const api = new FakeJobApi();
    api.watchResyncIntervalMs = 60_000;
    const created = await makeCreatedJob(api);
    const original = api.watchJob.bind(api);
    api.watchJob = (namespace, name, from, onEvent, signal) => {
      setTimeout(() => onEvent({ type: 'DELETED', object: { metadata: { name, namespace } } }), 20);
      return original(namespace, name, from, onEvent, signal);
    };
    await assert.rejects(startWait(api, created, slowPollMs), (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      assert.equal(error.errorName, 'EKS.JobFailed');
      return true;
    });
  });

  test('a watch refused for good falls back on polling even when the adapter re-lists', async () => {
    const api = new FakeJobApi();
    api.watchResyncIntervalMs = 60_000;
    const created = await makeCreatedJob(api);
    api.watchJob = async () => {
      throw makeStatusError(403, 'Forbidden', 'watch is forbidden');
    };
    const waiting = startWait(api, created, 20);
    await sleep(60);
    api.finishJob('default', 'job-1', 'Complete');
    assert.equal((await waiting).outcome, 'Complete');
    assert.ok(api.callsOf('getJob').length >= 1);
  });
});
