/**
 * A `Retry` on States.HeartbeatTimeout after the worker waiting on a `runJob.sync` was killed
 * (SIGKILL: no clean-up, no answer), with the seed's example 01 shape (a fixed Job name) and real
 * worker processes on the local stack (contract §6).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useRetryHarness } from './support/retry-harness.ts';

describe('a Retry after the worker of a runJob.sync was killed', () => {
  const harness = useRetryHarness();

  test('the retry on States.HeartbeatTimeout adopts the Job the killed worker created', async () => {
    const stateMachineArn = await harness.createStateMachine(
      'sigkill-adopt',
      'example-job',
      12_000,
    );
    const run = await harness.interruptAndRetry(stateMachineArn, 'example-job', 'SIGKILL');
    assert.equal(run.execution.status, 'SUCCEEDED', `${run.execution.cause}\n${run.logs}`);
    assert.equal(run.output.metadata.uid, run.firstUid, 'the retry waited for the first Job');
    assert.match(run.logs, /Job of an earlier, interrupted attempt adopted/);
    assert.equal(harness.jobsNamed('example-job').length, 1);
  });
});
