/**
 * The harness of the Retry-after-interruption end-to-end tests (contract §6): the local stack, one
 * activity, real worker processes configured through the environment, and the seed's example 01
 * state machine with the README's Retry on EKS.WorkerInterrupted and States.HeartbeatTimeout.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before } from 'node:test';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type LocalStack, startLocalStack } from '../../../infra/local-stack/index.ts';
import { scriptAnnotation } from '../../../infra/local-stack/kube/kubelet/container-script.ts';

const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };

export const waitFor = async <T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 60_000,
) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Whether the process has ended; one killed by a signal has `exitCode` null and a `signalCode`. */
const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

/** Registers the stack's start and stop with the current suite; returns the harness. */
export const useRetryHarness = () => {
  let stack: LocalStack;
  let sfn: SFNClient;
  let activityArn: string;
  const workers = new Set<ChildProcess>();

  before(async () => {
    stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
    sfn = new SFNClient({
      region: stack.region,
      credentials: stack.credentials,
      endpoint: stack.sfn.endpoint,
    });
    activityArn = (await sfn.send(new CreateActivityCommand({ name: 'retry-eks-runJob-sync' })))
      .activityArn as string;
  });

  after(async () => {
    for (const worker of workers) if (!hasExited(worker)) worker.kill('SIGKILL');
    sfn.destroy();
    await stack.close();
  });

  /**
   * A worker process configured only through the environment, as `npm start` runs it. Resolves
   * once it logs `Worker started` (its polls follow at once), so a test never races its boot.
   */
  const startWorker = async (environment: Record<string, string> = {}) => {
    let stderr = '';
    let stdout = '';
    const worker = spawn(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      env: {
        PATH: process.env.PATH,
        ...stack.awsEnvironment(),
        EKS_WORKER_ACTIVITY_ARNS: activityArn,
        EKS_WORKER_HEARTBEAT_INTERVAL_MS: '1000',
        EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
        EKS_WORKER_LOG_LEVEL: 'INFO',
        ...environment,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    worker.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    workers.add(worker);
    await waitFor(
      () => stdout.includes('"Worker started"') || hasExited(worker),
      (ready) => ready,
      'the worker to start',
    );
    assert.equal(worker.exitCode, null, stderr);
    return { worker, output: () => `${stdout}\n${stderr}` };
  };

  const stopWorker = async (started: { worker: ChildProcess }) => {
    if (hasExited(started.worker)) return;
    started.worker.kill('SIGTERM');
    await once(started.worker, 'exit');
  };

  /**
   * Example 01 of the seed, with the README's Retry on EKS.WorkerInterrupted and on a heartbeat
   * timeout; `{ retry: false }` leaves it out (a worker with a hand-off queue needs none).
   */
  const createStateMachine = async (
    name: string,
    jobName: string,
    durationMs: number,
    options: { retry?: boolean; heartbeatSeconds?: number } = {},
  ) => {
    const definition = {
      StartAt: 'Run a job on EKS',
      States: {
        'Run a job on EKS': {
          Type: 'Task',
          Resource: activityArn,
          HeartbeatSeconds: options.heartbeatSeconds ?? 3,
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
                    name: jobName,
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
          ...(options.retry === false
            ? {}
            : {
                Retry: [
                  {
                    ErrorEquals: ['EKS.WorkerInterrupted', 'States.HeartbeatTimeout'],
                    IntervalSeconds: 1,
                    MaxAttempts: 2,
                  },
                ],
              }),
          End: true,
        },
      },
    };
    return (
      await sfn.send(
        new CreateStateMachineCommand({
          name,
          definition: JSON.stringify(definition),
          roleArn: `arn:aws:iam::${stack.accountId}:role/test`,
        }),
      )
    ).stateMachineArn as string;
  };

  /**
   * Starts two workers, then an execution; once its Job exists, interrupts (SIGTERM or SIGKILL)
   * the worker that took the task, so that the retry goes to the other one. Both are started
   * before the execution, so no worker's boot time races the Job. Returns the execution's end and
   * the uid of the Job the first attempt created.
   */
  const interruptAndRetry = async (
    stateMachineArn: string,
    jobName: string,
    signal: 'SIGTERM' | 'SIGKILL',
    environment: Record<string, string> = {},
  ) => {
    const pair = await Promise.all([startWorker(environment), startWorker(environment)]);
    const executionArn = (
      await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' }))
    ).executionArn as string;
    const created = await waitFor(
      () => stack.cluster.store.get(jobsType, 'default', jobName),
      (job) => job !== undefined,
      'the first attempt to create its Job',
    );
    const first = await waitFor(
      () => pair.find((started) => started.output().includes('"Task received"')),
      (found) => found !== undefined,
      'the worker that took the task',
    );
    first?.worker.kill(signal);
    if (first) await once(first.worker, 'exit');
    const firstUid = created?.metadata.uid as string;
    const firstJobLeft = jobsNamed(jobName).some((job) => job.metadata.uid === firstUid);
    const execution = await waitFor(
      () => sfn.send(new DescribeExecutionCommand({ executionArn })),
      (e) => e.status !== 'RUNNING',
      'the execution to end',
    );
    await Promise.all(pair.map(stopWorker));
    const output = execution.status === 'SUCCEEDED' ? JSON.parse(execution.output ?? '{}') : {};
    const logs = pair.map((started) => started.output()).join('\n');
    return { execution, output, firstUid, firstJobLeft, logs };
  };

  const jobsNamed = (name: string) =>
    stack.cluster.store.list(jobsType, 'default').items.filter((job) => job.metadata.name === name);

  /** Starts an execution of `stateMachineArn` and waits for its end. */
  const runExecution = async (stateMachineArn: string) => {
    const executionArn = (
      await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' }))
    ).executionArn as string;
    return waitFor(
      () => sfn.send(new DescribeExecutionCommand({ executionArn })),
      (e) => e.status !== 'RUNNING',
      'the execution to end',
    );
  };

  return {
    /** The local stack (after `before`). */
    get stack() {
      return stack;
    },
    get sfn() {
      return sfn;
    },
    startWorker,
    runExecution,
    stopWorker,
    createStateMachine,
    interruptAndRetry,
    jobsNamed,
  };
};
