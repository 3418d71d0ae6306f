import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../../../lib/clock.ts';
import { KubeConnectionError, TaskFailedError } from '../../../../lib/errors.ts';
import type { KubeJob } from '../../../../lib/integrations/kube-job/job-api.ts';
import { makeRunJobIntegrations } from '../../../../lib/integrations/kube-job/run-job-integrations.ts';
import { type Checkpoint, TaskAbortedError } from '../../../../lib/integrations/types.ts';
import { FakeJobApi } from './support/fake-job-api.ts';
import { makeTaskContext } from './support/task-context.ts';

const testTimeoutMs = 3000;

const input = (name: string) => ({
  ClusterName: 'c1',
  Namespace: 'default',
  Job: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } },
  },
});

const setUp = () => {
  const api = new FakeJobApi();
  const [, runJobSync] = makeRunJobIntegrations({
    pollIntervalMs: 60_000,
    openJobApi: async () => api,
  });
  const resume = runJobSync.resume;
  if (resume === undefined) throw new Error('runJob.sync must be resumable');
  return { api, runJobSync, resume: resume.bind(runJobSync) };
};

/** Runs the task until its checkpoint, then aborts it as a stopping worker does. */
const runUntilCheckpoint = async (
  runJobSync: ReturnType<typeof setUp>['runJobSync'],
  name: string,
): Promise<Checkpoint> => {
  const controller = new AbortController();
  const checkpoints: Checkpoint[] = [];
  const context = {
    ...makeTaskContext(controller.signal),
    checkpoint: (state: Checkpoint) => checkpoints.push(state),
  };
  const running = runJobSync.run(input(name), context).catch((error: unknown) => error);
  for (let i = 0; i < 200 && checkpoints.length === 0; i++) await sleep(5);
  controller.abort(new TaskAbortedError({ kind: 'shutdown' }));
  assert.ok((await running) instanceof TaskAbortedError);
  const [checkpoint] = checkpoints;
  if (checkpoint === undefined) throw new Error('no checkpoint was recorded');
  return checkpoint;
};

describe('eks:runJob.sync resume', () => {
  test('the checkpoint recorded after the create names the Job and its uid', async () => {
    const { api, runJobSync } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'cp');
    const job = api.jobs.values().next().value as KubeJob;
    assert.deepEqual(checkpoint, {
      namespace: 'default',
      jobName: 'cp',
      uid: job.metadata?.uid,
    });
  });

  test('resume waits for the same Job without creating another and outputs it as run does', async () => {
    const { api, runJobSync, resume } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'again');
    const resumed = resume(
      input('again'),
      checkpoint,
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    );
    await sleep(20);
    api.finishJob('default', 'again', 'Complete');
    const output = (await resumed) as KubeJob;
    assert.equal(output.metadata?.name, 'again');
    assert.equal(output.metadata?.uid, checkpoint.uid);
    assert.equal(api.callsOf('createJob').length, 1);
  });

  test('an API server that cannot be reached for a while does not fail the resumed wait: it is read again', async () => {
    const { api, runJobSync, resume } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'busy');
    const connectTimeout = Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' });
    api.getJobError = new KubeConnectionError('https://api.example', connectTimeout);
    // Backoff sleeps shortened, so the test does not wait out real seconds.
    const context = {
      ...makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
      clock: {
        now: () => Date.now(),
        sleep: (_ms: number, signal?: AbortSignal) => systemClock.sleep(5, signal),
      },
    };
    const resumed = resume(input('busy'), checkpoint, context);
    await sleep(60);
    assert.ok(api.callsOf('getJob').length >= 2, 'read again while it failed');
    api.getJobError = undefined;
    await sleep(20);
    api.finishJob('default', 'busy', 'Complete');
    const output = (await resumed) as KubeJob;
    assert.equal(output.metadata?.uid, checkpoint.uid);
    assert.ok(context.logs.some((line) => /Reading the carried-on Job failed/.test(line.message)));
  });

  test('a TLS failure reading the resumed Job is not retried: the wait fails with EKS.ConnectionFailed', async () => {
    const { api, runJobSync, resume } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'tls');
    const tls = Object.assign(new Error('bad cert'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    api.getJobError = new KubeConnectionError('https://api.example', tls);
    await assert.rejects(
      resume(input('tls'), checkpoint, makeTaskContext(AbortSignal.timeout(testTimeoutMs))),
      (error: unknown) =>
        error instanceof TaskFailedError && error.errorName === 'EKS.ConnectionFailed',
    );
    assert.equal(api.callsOf('getJob').length, 1);
  });

  test('a Job deleted while nobody watched ends the resumed task with EKS.JobFailed (JobDeleted)', async () => {
    const { api, runJobSync, resume } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'gone');
    api.removeJob('default', 'gone');
    await assert.rejects(
      resume(input('gone'), checkpoint, makeTaskContext(AbortSignal.timeout(testTimeoutMs))),
      (error: unknown) =>
        error instanceof TaskFailedError &&
        error.errorName === 'EKS.JobFailed' &&
        JSON.stringify(error.failureCause).includes('JobDeleted'),
    );
  });

  test('a Job replaced by one of the same name and another uid counts as deleted', async () => {
    const { api, runJobSync, resume } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'swap');
    await assert.rejects(
      resume(
        input('swap'),
        { ...checkpoint, uid: 'another-uid' },
        makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
      ),
      (error: unknown) => error instanceof TaskFailedError && error.errorName === 'EKS.JobFailed',
    );
    assert.equal(api.callsOf('deleteJob').length, 0);
  });

  test('resumed with a signal already abandoned and clean-up on, it deletes the Job and rethrows', async () => {
    const { api, runJobSync, resume } = setUp();
    const checkpoint = await runUntilCheckpoint(runJobSync, 'orphan');
    const controller = new AbortController();
    controller.abort(new TaskAbortedError({ kind: 'abandoned', sfnError: 'TaskTimedOut' }));
    await assert.rejects(
      resume(input('orphan'), checkpoint, {
        ...makeTaskContext(controller.signal),
        cleanupOnAbandon: true,
      }),
      TaskAbortedError,
    );
    assert.equal(api.callsOf('deleteJob').length, 1);
    assert.equal(api.callsOf('getJob').length, 0, 'nothing but the clean-up is done');
  });
});
