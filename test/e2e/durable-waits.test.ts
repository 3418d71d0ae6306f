/**
 * Acceptance (issue 18): a waiting `runJob.sync` outlives the worker process that holds it. Real
 * worker processes with a hand-off queue on the local stack, the seed's example 01 shape with NO
 * Retry: a rolling replacement (SIGTERM) and a kill (SIGKILL) of the replica carrying the wait
 * fail nothing, the Job is created once, and the execution's history shows one attempt.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { before, describe, test } from 'node:test';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { useRetryHarness, waitFor } from './support/retry-harness.ts';

/** Heartbeat 1 s, lease 5 s: a wait whose carrier dies is taken over within about 6 s. */
const replicaEnvironment = {
  EKS_WORKER_LEASE_SECONDS: '5',
  EKS_WORKER_SHUTDOWN_GRACE_MS: '25000',
};

describe('a waiting runJob.sync outlives the worker process that holds it', () => {
  const harness = useRetryHarness();
  let queueUrl: string;

  before(async () => {
    const sqs = new SQSClient({
      region: harness.stack.region,
      credentials: harness.stack.credentials,
      endpoint: harness.stack.sqs.endpoint,
    });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'durable-handoff' })))
      .QueueUrl as string;
    sqs.destroy();
  });

  const startReplica = () =>
    harness.startWorker({ ...replicaEnvironment, EKS_WORKER_HANDOFF_QUEUE_URL: queueUrl });

  const attempts = async (executionArn: string) => {
    const { events = [] } = await harness.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
    );
    return events.filter((event) => event.type === 'ActivityScheduled').length;
  };

  /** Starts the first replica and an execution; resolves once that replica carries the wait. */
  const startCarriedWait = async (name: string, jobName: string, durationMs: number) => {
    const first = await startReplica();
    const stateMachineArn = await harness.createStateMachine(name, jobName, durationMs, {
      retry: false,
      heartbeatSeconds: 10,
    });
    const { executionArn } = await harness.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: '{}' }),
    );
    await waitFor(
      () => first.output(),
      (output) => output.includes('"Task parked') && output.includes('"Task resumed"'),
      'the first replica to park the wait and carry it',
    );
    return { first, executionArn: executionArn as string };
  };

  const waitForEnd = (executionArn: string) =>
    waitFor(
      () => harness.sfn.send(new DescribeExecutionCommand({ executionArn })),
      (execution) => execution.status !== 'RUNNING',
      'the execution to end',
    );

  test('SIGKILL of the replica carrying the wait: another carries it on, one Job, no retry', async () => {
    const { first, executionArn } = await startCarriedWait('kill', 'killed-carrier-job', 12_000);
    const second = await startReplica();
    const created = harness.jobsNamed('killed-carrier-job');
    first.worker.kill('SIGKILL');
    await once(first.worker, 'exit');
    await waitFor(
      () => second.output(),
      (output) => output.includes('"Task resumed"'),
      'the second replica to take the wait over once the lease ends',
    );
    const execution = await waitForEnd(executionArn);
    assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${second.output()}`);
    const output = JSON.parse(execution.output ?? '{}');
    assert.equal(
      output.metadata.uid,
      created[0]?.metadata.uid,
      'the Job the first replica created',
    );
    assert.equal(harness.jobsNamed('killed-carrier-job').length, 1);
    const [pod] = Object.values(output.logs.pods) as { containers: unknown }[];
    assert.deepEqual(pod?.containers, { 'pi-2000': { log: 42 } });
    assert.equal(await attempts(executionArn), 1, 'one attempt: nothing failed');
    await harness.stopWorker(second);
  });

  test('a rolling replacement (SIGTERM) hands the wait over at once: one Job, no retry', async () => {
    const { first, executionArn } = await startCarriedWait('rollout', 'rolled-carrier-job', 8_000);
    const second = await startReplica();
    const stoppedAtMs = Date.now();
    await harness.stopWorker(first);
    const exitedAfterMs = Date.now() - stoppedAtMs;
    await waitFor(
      () => second.output(),
      (output) => output.includes('"Task resumed"'),
      'the second replica to carry the wait on',
    );
    assert.match(first.output(), /Carrier stopping; handing carried waits back/);
    // The local long poll holds 500 ms, a receive 10 s at most; the 25 s grace is not waited out.
    assert.ok(exitedAfterMs < 12_000, `the stopping replica exited after ${exitedAfterMs} ms`);
    const execution = await waitForEnd(executionArn);
    assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${second.output()}`);
    assert.equal(harness.jobsNamed('rolled-carrier-job').length, 1);
    assert.equal(await attempts(executionArn), 1);
    await harness.stopWorker(second);
  });
});
