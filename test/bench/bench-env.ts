/**
 * One bench environment: the local stack in this process, the recording proxy in front of its
 * Step Functions, a runJob.sync state machine, a watch on the cluster's store for Job ends, and
 * the worker in a separate process pointed at the proxy.
 */
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import { type SfnRecorder, startSfnRecorder } from './sfn-recorder.ts';
import { startWorkerProcess, type WorkerProcess, type WorkerRunMode } from './worker-process.ts';

export interface BenchEnvOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  heartbeatIntervalMs: number;
  heartbeatSeconds: number;
  maxConcurrentTasks: number;
  pollersPerActivity: number;
  /** Held-poll duration of the local Step Functions (AWS: 60 s). */
  longPollHoldMs: number;
}

export interface JobSpec {
  name: string;
  /** The container script (annotation `local.eks-activity-worker/script`). */
  script: Record<string, unknown>;
  retrieveLogs?: boolean;
}

export interface BenchEnv {
  stack: LocalStack;
  recorder: SfnRecorder;
  worker: WorkerProcess;
  sfn: SFNClient;
  /** When each Job first got `Complete` or `Failed` = True (`performance.now()` ms), by name. */
  jobEndedAtMs: ReadonlyMap<string, number>;
  /** Starts one execution running `job`; returns its ARN. */
  startJob(job: JobSpec): Promise<string>;
  /** Polls DescribeExecution until the execution leaves RUNNING. */
  waitForExecution(arn: string, timeoutMs: number): Promise<DescribeExecutionCommandOutput>;
  /** Waits until the worker's proxy has seen `count` answers, or throws after `timeoutMs`. */
  waitForAnswers(jobNames: readonly string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

let runSequence = 0;

const hasTerminalCondition = (object: { status?: unknown }): boolean => {
  const conditions = (object.status as { conditions?: { type?: string; status?: string }[] })
    ?.conditions;
  return (
    conditions?.some(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    ) ?? false
  );
};

export async function startBenchEnv(options: BenchEnvOptions): Promise<BenchEnv> {
  const stack = await startLocalStack({ sfn: { longPollHoldMs: options.longPollHoldMs } });
  const recorder = await startSfnRecorder(stack.sfn.endpoint);
  const sfn = new SFNClient({
    region: stack.region,
    endpoint: stack.sfn.endpoint,
    credentials: stack.credentials,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
    }),
  });
  const run = `bench${++runSequence}-${process.pid}`;
  const { activityArn } = await sfn.send(
    new CreateActivityCommand({ name: `${run}-eks-runJob-sync` }),
  );
  if (!activityArn) throw new Error('CreateActivity gave no ARN');

  const definition = {
    StartAt: 'Run the Job',
    States: {
      'Run the Job': {
        Type: 'Task',
        Resource: activityArn,
        HeartbeatSeconds: options.heartbeatSeconds,
        Parameters: {
          ClusterName: stack.cluster.clusterName,
          Endpoint: stack.cluster.endpoint,
          CertificateAuthority: stack.cluster.caData,
          Namespace: 'default',
          'LogOptions.$': '$.logOptions',
          Job: {
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: { 'name.$': '$.jobName' },
            spec: {
              backoffLimit: 0,
              template: {
                metadata: {
                  annotations: { 'local.eks-activity-worker/script.$': '$.script' },
                },
                spec: {
                  containers: [{ name: 'main', image: 'busybox', command: ['true'] }],
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
      name: `${run}-runjob`,
      definition: JSON.stringify(definition),
      roleArn: `arn:aws:iam::${stack.accountId}:role/bench`,
    }),
  );

  const jobEndedAtMs = new Map<string, number>();
  const unsubscribe = stack.cluster.store.subscribe((event) => {
    if (event.resource.resource !== 'jobs' || event.type === 'DELETED') return;
    const name = event.object.metadata.name;
    if (name === undefined || jobEndedAtMs.has(name)) return;
    if (hasTerminalCondition(event.object as { status?: unknown })) {
      jobEndedAtMs.set(name, performance.now());
    }
  });

  const worker = startWorkerProcess({
    mode: options.mode,
    ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
    env: {
      ...stack.awsEnvironment(),
      AWS_ENDPOINT_URL_SFN: recorder.endpoint,
      EKS_WORKER_ACTIVITY_ARNS: activityArn,
      EKS_WORKER_NAME: 'bench-worker',
      EKS_WORKER_MAX_CONCURRENT_TASKS: String(options.maxConcurrentTasks),
      EKS_WORKER_POLLERS_PER_ACTIVITY: String(options.pollersPerActivity),
      EKS_WORKER_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs),
      EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
      EKS_WORKER_LOG_LEVEL: 'ERROR',
    },
  });

  const waitForExecution = async (arn: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      if (execution.status !== 'RUNNING') return execution;
      if (Date.now() > deadline) throw new Error(`execution still RUNNING after ${timeoutMs} ms`);
      await sleep(50);
    }
  };

  return {
    stack,
    recorder,
    worker,
    sfn,
    jobEndedAtMs,
    startJob: async (job) => {
      const out = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: job.name,
          input: JSON.stringify({
            jobName: job.name,
            script: JSON.stringify(job.script),
            logOptions: { RetrieveLogs: job.retrieveLogs ?? false },
          }),
        }),
      );
      if (!out.executionArn) throw new Error('StartExecution gave no ARN');
      return out.executionArn;
    },
    waitForExecution,
    waitForAnswers: async (jobNames, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pending = jobNames.filter(
          (name) => recorder.taskForJob(name)?.answeredAtMs === undefined,
        );
        if (pending.length === 0) return;
        if (Date.now() > deadline) {
          const ended = pending.filter((name) => jobEndedAtMs.has(name)).length;
          const delivered = pending.filter((name) => recorder.taskForJob(name)).length;
          const jobs = stack.cluster.store.list(
            { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
            'default',
          ).items;
          const existing = new Set(jobs.map((job) => job.metadata.name));
          const created = pending.filter((name) => existing.has(name)).length;
          throw new Error(
            `${pending.length} of ${jobNames.length} tasks unanswered after ${timeoutMs} ms ` +
              `(of those: ${delivered} handed to the worker, ${created} Jobs exist, ${ended} Jobs ended); ` +
              `worker said:\n${worker.tail()}`,
          );
        }
        if (worker.child.exitCode !== null) {
          throw new Error(`the worker exited (${worker.child.exitCode}):\n${worker.tail()}`);
        }
        await sleep(20);
      }
    },
    close: async () => {
      unsubscribe();
      await worker.stop();
      sfn.destroy();
      await recorder.close();
      await stack.close();
    },
  };
}
