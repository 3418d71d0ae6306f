/**
 * A `Retry` after a `runJob.sync` interrupted by SIGTERM (contract §6), with the seed's example 01
 * shape (a Job with a fixed `metadata.name`) and real worker processes on the local stack without
 * a hand-off queue: the task fails as EKS.WorkerInterrupted, the other worker takes the retry, and
 * the execution must succeed with no Job left running unwatched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fingerprintAnnotation } from '../../lib/integrations/kube-job/create-or-adopt.ts';
import { useRetryHarness } from './support/retry-harness.ts';

describe('a Retry after a runJob.sync interrupted by SIGTERM', () => {
  const harness = useRetryHarness();

  test('with clean-up on, the interrupted Job is deleted and the retry runs a fresh one', async () => {
    const stateMachineArn = await harness.createStateMachine(
      'sigterm-cleanup',
      'example-job',
      8_000,
    );
    const run = await harness.interruptAndRetry(stateMachineArn, 'example-job', 'SIGTERM');
    assert.equal(run.execution.status, 'SUCCEEDED', `${run.execution.cause}\n${run.logs}`);
    assert.equal(run.firstJobLeft, false, 'the interrupted attempt deleted its Job');
    assert.notEqual(run.output.metadata.uid, run.firstUid);
    const [pod] = Object.values(run.output.logs.pods) as { containers: Record<string, unknown> }[];
    assert.deepEqual(pod?.containers['pi-2000'], { log: 42 });
    assert.deepEqual(
      harness.jobsNamed('example-job').map((job) => job.metadata.uid),
      [run.output.metadata.uid],
      'only the Job the retry waited for exists',
    );
  });

  test('with clean-up off, the retry adopts the still-running Job of the first attempt', async () => {
    const stateMachineArn = await harness.createStateMachine(
      'sigterm-adopt',
      'example-job-2',
      8_000,
    );
    const run = await harness.interruptAndRetry(stateMachineArn, 'example-job-2', 'SIGTERM', {
      EKS_WORKER_CLEANUP_ON_ABANDON: 'false',
    });
    assert.equal(run.execution.status, 'SUCCEEDED', `${run.execution.cause}\n${run.logs}`);
    assert.equal(run.output.metadata.uid, run.firstUid, 'the retry waited for the first Job');
    assert.equal(
      run.output.metadata.annotations?.[fingerprintAnnotation],
      undefined,
      'the fingerprint is not in the output',
    );
    assert.match(run.logs, /Job of an earlier, interrupted attempt adopted/);
    assert.equal(harness.jobsNamed('example-job-2').length, 1);
  });

  test('a Job of the same name left by another, finished run still fails the task with EKS.409', async () => {
    // example-job is the finished Job of the first test's execution.
    const [finished] = harness.jobsNamed('example-job');
    assert.ok(finished, 'the first test left its finished Job');
    const stateMachineArn = await harness.createStateMachine('finished-other', 'example-job', 100);
    const worker = await harness.startWorker();
    const execution = await harness.runExecution(stateMachineArn);
    await harness.stopWorker(worker);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.409');
    assert.match(execution.cause ?? '', /jobs.batch \\"example-job\\" already exists/);
    assert.equal(harness.jobsNamed('example-job')[0]?.metadata.uid, finished.metadata.uid);
  });
});
