/**
 * A runJob.sync activity, a one-state machine that uses it, and helpers to run it: what a test of
 * the worker as a separate process needs to hand it a task and read the answer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { LocalStack } from '../../infra/local-stack/index.ts';

const scriptAnnotation = 'local.eks-activity-worker/script';

/** Polls `read` every 50 ms until `done`, or throws after `timeoutMs`. */
export const waitFor = async <T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** A batch/v1 Job whose container the local kubelet "runs" for `durationMs`. */
export const scriptedJob = (name: string, durationMs: number) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { annotations: { [scriptAnnotation]: JSON.stringify({ durationMs }) } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
    },
  },
});

export interface RunJobFixture {
  readonly sfn: SFNClient;
  readonly activityArn: string;
  /** Starts an execution that runs `job` in `namespace` of `clusterName`; ends when it ends. */
  runJob(
    job: unknown,
    options?: { clusterName?: string; namespace?: string; endpoint?: string },
  ): Promise<DescribeExecutionCommandOutput>;
  close(): void;
}

/** Creates the activity `<prefix>-eks-runJob-sync` and a state machine per cluster it targets. */
export const makeRunJobFixture = async (
  stack: LocalStack,
  prefix: string,
): Promise<RunJobFixture> => {
  const sfn = new SFNClient({
    region: stack.region,
    credentials: stack.credentials,
    endpoint: stack.sfn.endpoint,
  });
  const { activityArn } = await sfn.send(
    new CreateActivityCommand({ name: `${prefix}-eks-runJob-sync` }),
  );
  if (activityArn === undefined) throw new Error('no activity ARN');
  let machines = 0;
  const runJob: RunJobFixture['runJob'] = async (job, options = {}) => {
    const definition = {
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: activityArn,
          HeartbeatSeconds: 10,
          Parameters: {
            ClusterName: options.clusterName ?? stack.cluster.clusterName,
            Namespace: options.namespace ?? 'default',
            ...(options.endpoint === undefined ? {} : { Endpoint: options.endpoint }),
            'Job.$': '$.job',
          },
          End: true,
        },
      },
    };
    machines += 1;
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `${prefix}-${machines}`,
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${stack.accountId}:role/test`,
      }),
    );
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ job }) }),
    );
    return waitFor(
      () => sfn.send(new DescribeExecutionCommand({ executionArn })),
      (execution) => execution.status !== 'RUNNING',
      'the execution to end',
    );
  };
  return { sfn, activityArn, runJob, close: () => sfn.destroy() };
};

export interface SpawnedWorker {
  readonly child: ChildProcess;
  /** Everything the worker wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
}

/** Spawns `command args` with only `env` (plus PATH), collecting its output. */
export const spawnWorker = (
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): SpawnedWorker => {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
};
