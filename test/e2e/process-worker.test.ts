/**
 * The long-lived process host as users run it (`npm start` with EKS_WORKER_ACTIVITY_ARNS set):
 * a separate Node process, configured only through the environment, against the local stack.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';

const scriptAnnotation = 'local.eks-activity-worker/script';
const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };

const waitFor = async <T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: string,
) => {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('the worker as a long-lived process', () => {
  let stack: LocalStack;
  let sfn: SFNClient;
  let stateMachineArn: string;
  let queueUrl: string;
  let worker: ChildProcess;
  let stderr = '';

  before(async () => {
    stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
    const clientConfig = { region: stack.region, credentials: stack.credentials };
    sfn = new SFNClient({ ...clientConfig, endpoint: stack.sfn.endpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: stack.sqs.endpoint });
    const { activityArn } = await sfn.send(
      new CreateActivityCommand({ name: 'proc-eks-runJob-sync' }),
    );
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'hand-off' })))
      .QueueUrl as string;
    sqs.destroy();
    const { cluster } = stack;
    const definition = {
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: activityArn,
          HeartbeatSeconds: 10,
          Parameters: {
            ClusterName: cluster.clusterName,
            Namespace: 'default',
            'Job.$': '$.job',
          },
          End: true,
        },
      },
    };
    stateMachineArn = (
      await sfn.send(
        new CreateStateMachineCommand({
          name: 'process-host',
          definition: JSON.stringify(definition),
          roleArn: `arn:aws:iam::${stack.accountId}:role/test`,
        }),
      )
    ).stateMachineArn as string;

    worker = spawn(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      env: {
        PATH: process.env.PATH,
        ...stack.awsEnvironment(),
        EKS_WORKER_ACTIVITY_ARNS: activityArn,
        EKS_WORKER_HEARTBEAT_INTERVAL_MS: '1000',
        EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
        EKS_WORKER_HANDOFF_QUEUE_URL: queueUrl,
        EKS_WORKER_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
  });

  after(async () => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    sfn.destroy();
    await stack.close();
  });

  const job = (name: string, durationMs: number) => ({
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
  const start = async (input: unknown) =>
    (await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) })))
      .executionArn as string;
  const describeExecution = (executionArn: string) =>
    sfn.send(new DescribeExecutionCommand({ executionArn }));

  test('serves a runJob.sync task configured only through the environment', async () => {
    const executionArn = await start({ job: job('short', 100) });
    const execution = await waitFor(
      () => describeExecution(executionArn),
      (e) => e.status !== 'RUNNING',
      'the execution to end',
    );
    assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${stderr}`);
    assert.equal(JSON.parse(execution.output ?? '{}').metadata.name, 'short');
  });

  test('on SIGTERM a task still running is handed off to the queue with its checkpoint, not failed', async () => {
    const executionArn = await start({ job: job('long', 120_000) });
    const created = await waitFor(
      () => stack.cluster.store.get(jobsType, 'default', 'long'),
      (j) => j !== undefined,
      'the Job to be created',
    );

    worker.kill('SIGTERM');
    const [exitCode] = await once(worker, 'exit');

    assert.equal(exitCode, 0, stderr);
    const queue = stack.sqs.inspect.queue(queueUrl);
    const messages = [
      ...(queue?.visible ?? []),
      ...(queue?.delayed ?? []),
      ...(queue?.inFlight ?? []),
    ];
    assert.equal(messages.length, 1);
    const body = JSON.parse(messages[0]?.body ?? '{}');
    assert.deepEqual(body.checkpoint, {
      namespace: 'default',
      jobName: 'long',
      uid: created?.metadata.uid,
    });
    assert.equal(
      (await describeExecution(executionArn)).status,
      'RUNNING',
      'not failed: the resumer takes it on',
    );
  });
});
