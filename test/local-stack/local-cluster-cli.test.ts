/**
 * `npm run local-cluster` as a first user runs it: the 15 activities exist, and the command it
 * prints, pasted into a shell, starts a worker that serves them (and `--worker` does the same).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListActivitiesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type LocalCluster, startLocalCluster } from '../../infra/local-stack/cli.ts';
import {
  localAccountId,
  localIdentities,
  localRegion,
} from '../../infra/local-stack/identities.ts';
import { allActivitySuffixes } from '../../infra/state-machines/native-resources.ts';

const projectDir = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'local-cluster-cli-'));
const children: ChildProcess[] = [];
/** Worker processes the CLI started in process groups of their own (killed too if a test fails). */
const workerPids: number[] = [];
after(() => {
  for (const pid of workerPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already stopped, as it should be.
    }
  }
  for (const child of children) {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // The group has already exited.
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts a command in its own process group (so npm, tsx and node all get the signal). */
const startGroup = (command: string, args: string[], env: NodeJS.ProcessEnv) => {
  const child = spawn(command, args, {
    cwd: projectDir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // 'close': the process has exited and every writer of its pipes (a worker too) is done.
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { child, output: () => output, exited };
};

const sfnAt = (endpoint: string) =>
  new SFNClient({ region: localRegion, endpoint, credentials: localIdentities.admin });

/** Runs a one-state machine on the `local-eks-call` activity: lists the cluster's namespaces. */
const listNamespacesThroughTheWorker = async (sfn: SFNClient, name: string) => {
  const activityArn = `arn:aws:states:${localRegion}:${localAccountId}:activity:local-eks-call`;
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name,
      roleArn: `arn:aws:iam::${localAccountId}:role/test`,
      definition: JSON.stringify({
        StartAt: 'List',
        States: {
          List: {
            Type: 'Task',
            Resource: activityArn,
            Parameters: { ClusterName: 'local-cluster', Method: 'GET', Path: '/api/v1/namespaces' },
            End: true,
          },
        },
      }),
    }),
  );
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the execution did not end within 60 s');
};

describe('npm run local-cluster', () => {
  test('creates the 15 activities and prints the command that starts a worker serving them', {
    timeout: 120_000,
  }, async () => {
    let local: LocalCluster | undefined;
    try {
      local = await startLocalCluster({
        ports: { sfn: 0, eks: 0, kube: 0, sqs: 0 },
        execution: 'scripted',
        dir: scratch,
      });
      const sfn = sfnAt(local.stack.sfn.endpoint);
      const { activities } = await sfn.send(new ListActivitiesCommand({}));
      assert.deepEqual(
        activities?.map((a) => a.name).sort(),
        allActivitySuffixes.map((suffix) => `local-${suffix}`).sort(),
      );

      const command = /^Start the worker against it.*\n {2}(.*)$/m.exec(local.banner)?.[1];
      assert.ok(command, local.banner);
      assert.match(command, /EKS_WORKER_ACTIVITY_ARNS=arn:aws:states:\S+ /);
      // With the hand-off queue the printed worker's waits are durable, as a deployment's are.
      const queueUrl = /EKS_WORKER_HANDOFF_QUEUE_URL=(\S+) /.exec(command)?.[1];
      assert.ok(queueUrl, command);
      assert.ok(local.stack.sqs.inspect.queue(queueUrl), 'the queue exists on the local SQS');
      assert.match(local.banner, /^Hand-off queue {2}http/m);
      assert.match(command, /EKS_WORKER_POLICY_FILE=infra\/policies\/local-stack.yaml npm start$/);

      // Exactly the printed line, in a shell, as the user pastes it.
      const worker = startGroup('sh', ['-c', command], { PATH: process.env.PATH, HOME: scratch });
      const execution = await listNamespacesThroughTheWorker(sfn, 'printed-command');
      assert.equal(execution.status, 'SUCCEEDED', worker.output());
      assert.match(execution.output ?? '', /"kind":"NamespaceList"/);

      process.kill(-(worker.child.pid ?? 0), 'SIGTERM');
      await worker.exited;
      sfn.destroy();
    } finally {
      await local?.stack.close();
    }
  });

  test('--worker starts that worker itself; Ctrl-C stops both', { timeout: 120_000 }, async () => {
    // The script's command itself (npm would re-raise the SIGINT and hide the CLI's exit code).
    const cli = startGroup(
      process.execPath,
      ['--import', 'tsx', 'infra/local-stack/cli.ts', '--worker'],
      {
        ...process.env,
        LOCAL_STACK_SFN_PORT: '0',
        LOCAL_STACK_EKS_PORT: '0',
        LOCAL_STACK_KUBE_PORT: '0',
        LOCAL_STACK_SQS_PORT: '0',
      },
    );
    let endpoint: string | undefined;
    for (const deadline = Date.now() + 60_000; !endpoint && Date.now() < deadline; ) {
      endpoint = /^Step Functions {2}(\S+)$/m.exec(cli.output())?.[1];
      if (!endpoint) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(endpoint, cli.output());
    for (const deadline = Date.now() + 10_000; !/Worker started \(pid/.test(cli.output()); ) {
      assert.ok(Date.now() < deadline, cli.output());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    workerPids.push(Number(/Worker started \(pid (\d+)\)/.exec(cli.output())?.[1]));
    const sfn = sfnAt(endpoint);
    const execution = await listNamespacesThroughTheWorker(sfn, 'worker-flag');
    assert.equal(execution.status, 'SUCCEEDED', cli.output());
    sfn.destroy();

    // Ctrl-C: the terminal signals the whole process group, the CLI and the worker alike.
    process.kill(-(cli.child.pid ?? 0), 'SIGINT');
    assert.equal(await cli.exited, 0, cli.output());
    assert.match(cli.output(), /"message":"Worker stopped"/);
  });
});
