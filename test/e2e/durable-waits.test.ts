/**
 * Acceptance (issue 18): a waiting `runJob.sync` outlives the worker process that holds it. Real
 * worker processes with a hand-off queue on the local stack, the seed's example 01 shape with NO
 * Retry: a rolling replacement (SIGTERM) and a kill (SIGKILL) of the replica carrying the wait
 * fail nothing, the Job is created once, and the execution's history shows one attempt.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import { scriptAnnotation } from '../../infra/local-stack/kube/kubelet/container-script.ts';
import { waitFor } from '../support/run-job-fixture.ts';

const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
/** Heartbeat 1 s, lease 5 s: a wait whose carrier dies is taken over within about 6 s. */
const heartbeatSeconds = 10;

const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

describe('a waiting runJob.sync outlives the worker process that holds it', () => {
  let stack: LocalStack;
  let sfn: SFNClient;
  let sqs: SQSClient;
  let activityArn: string;
  let queueUrl: string;
  const workers = new Set<ChildProcess>();

  before(async () => {
    stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
    sfn = new SFNClient({
      region: stack.region,
      credentials: stack.credentials,
      endpoint: stack.sfn.endpoint,
    });
    sqs = new SQSClient({
      region: stack.region,
      credentials: stack.credentials,
      endpoint: stack.sqs.endpoint,
    });
    activityArn = (await sfn.send(new CreateActivityCommand({ name: 'durable-eks-runJob-sync' })))
      .activityArn as string;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'durable-handoff' })))
      .QueueUrl as string;
  });

  after(async () => {
    for (const worker of workers) if (!hasExited(worker)) worker.kill('SIGKILL');
    sfn.destroy();
    sqs.destroy();
    await stack.close();
  });

  /** A replica: the process host as `npm start` runs it, with the hand-off queue. */
  const startReplica = async () => {
    let output = '';
    const worker = spawn(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      env: {
        PATH: process.env.PATH,
        ...stack.awsEnvironment(),
        EKS_WORKER_ACTIVITY_ARNS: activityArn,
        EKS_WORKER_HANDOFF_QUEUE_URL: queueUrl,
        EKS_WORKER_LEASE_SECONDS: '5',
        EKS_WORKER_HEARTBEAT_INTERVAL_MS: '1000',
        EKS_WORKER_LOG_LEVEL: 'INFO',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      output += chunk.toString();
    };
    worker.stdout?.on('data', keep);
    worker.stderr?.on('data', keep);
    workers.add(worker);
    await waitFor(
      () => output.includes('"Worker started"') || hasExited(worker),
      (ready) => ready,
      'the replica to start',
    );
    assert.equal(worker.exitCode, null, output);
    return { worker, output: () => output };
  };

  const startExecution = async (name: string, jobName: string, durationMs: number) => {
    const definition = {
      StartAt: 'Run a job on EKS',
      States: {
        'Run a job on EKS': {
          Type: 'Task',
          Resource: activityArn,
          HeartbeatSeconds: heartbeatSeconds,
          Parameters: {
            ClusterName: stack.cluster.clusterName,
            LogOptions: { RetrieveLogs: true },
            Job: {
              apiVersion: 'batch/v1',
              kind: 'Job',
              metadata: { name: jobName },
              spec: {
                backoffLimit: 0,
                template: {
                  metadata: {
                    annotations: {
                      [scriptAnnotation]: JSON.stringify({
                        durationMs,
                        log: { kind: 'lines', lines: ['42'] },
                      }),
                    },
                  },
                  spec: {
                    containers: [{ name: 'pi-2000', image: 'perl' }],
                    restartPolicy: 'Never',
                  },
                },
              },
            },
          },
          End: true,
        },
      },
    };
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name,
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${stack.accountId}:role/test`,
      }),
    );
    return (await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' })))
      .executionArn as string;
  };

  const waitForEnd = (executionArn: string) =>
    waitFor(
      () => sfn.send(new DescribeExecutionCommand({ executionArn })),
      (execution) => execution.status !== 'RUNNING',
      'the execution to end',
      60_000,
    );

  const attempts = async (executionArn: string) => {
    const { events = [] } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
    );
    return events.filter((event) => event.type === 'ActivityScheduled').length;
  };

  const jobsNamed = (name: string) =>
    stack.cluster.store.list(jobsType, 'default').items.filter((job) => job.metadata.name === name);

  /** Starts the first replica and an execution; resolves once that replica carries the wait. */
  const startCarriedWait = async (name: string, jobName: string, durationMs: number) => {
    const first = await startReplica();
    const executionArn = await startExecution(name, jobName, durationMs);
    await waitFor(
      () => first.output(),
      (output) => output.includes('"Task parked') && output.includes('"Task resumed"'),
      'the first replica to park the wait and carry it',
    );
    return { first, executionArn };
  };

  test('SIGKILL of the replica carrying the wait: another carries it on, one Job, no retry', async () => {
    const { first, executionArn } = await startCarriedWait('kill', 'killed-carrier-job', 12_000);
    const second = await startReplica();
    const created = jobsNamed('killed-carrier-job');
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
    assert.equal(jobsNamed('killed-carrier-job').length, 1);
    assert.deepEqual(output.logs.pods[Object.keys(output.logs.pods)[0] ?? ''].containers, {
      'pi-2000': { log: 42 },
    });
    assert.equal(await attempts(executionArn), 1, 'one attempt: nothing failed');
    second.worker.kill('SIGTERM');
    await once(second.worker, 'exit');
  });

  test('a rolling replacement (SIGTERM) hands the wait over at once: one Job, no retry', async () => {
    const { first, executionArn } = await startCarriedWait('rollout', 'rolled-carrier-job', 8_000);
    const second = await startReplica();
    const stoppedAtMs = Date.now();
    first.worker.kill('SIGTERM');
    await once(first.worker, 'exit');
    const exitedAfterMs = Date.now() - stoppedAtMs;
    const resumedBy = await waitFor(
      () => second.output(),
      (output) => output.includes('"Task resumed"'),
      'the second replica to carry the wait on',
    );
    assert.ok(resumedBy);
    assert.match(first.output(), /Carrier stopping; handing carried waits back/);
    // The local long poll holds 500 ms; the grace is 25 s but nothing of its own was running.
    assert.ok(exitedAfterMs < 5_000, `the stopping replica exited after ${exitedAfterMs} ms`);
    const execution = await waitForEnd(executionArn);
    assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${second.output()}`);
    assert.equal(jobsNamed('rolled-carrier-job').length, 1);
    assert.equal(await attempts(executionArn), 1);
    second.worker.kill('SIGTERM');
    await once(second.worker, 'exit');
  });
});
