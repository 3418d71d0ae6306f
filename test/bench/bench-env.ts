/**
 * One bench environment: the local stack in this process, a runJob.sync state machine, a watch on
 * the cluster's store for Job ends, and the worker in a separate process pointed at a recording
 * proxy in front of the local Step Functions (or several workers, each with its own proxy, so
 * the bench knows which process took and answered each task).
 */
import { Agent } from 'node:http';
import { join } from 'node:path';
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
import { type SfnRecorder, startSfnRecorder, type TaskRecord } from './sfn-recorder.ts';
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
  /** Worker processes serving the same activity. @default 1 */
  workers?: number;
  /**
   * More environment for the workers (e.g. `EKS_WORKER_JOB_POLL_INTERVAL_MS`); `undefined` removes
   * a variable the bench sets by default (to run at the worker's own default).
   */
  workerEnv?: Record<string, string | undefined>;
  /** Each worker writes all its output to `<logDir>/<worker name>.log` too. */
  logDir?: string;
  /** Proxies also record heartbeats and answers for tasks other processes received. */
  recordForeign?: boolean;
}

export interface BenchWorker {
  worker: WorkerProcess;
  recorder: SfnRecorder;
  /** Its `EKS_WORKER_NAME`, `bench-worker-<n>` (n from 1, in start order). */
  name: string;
  /** Where its output goes when the bench has a `logDir`. */
  logFile?: string;
}

export interface JobSpec {
  name: string;
  /** The container script (annotation `local.eks-activity-worker/script`). */
  script: Record<string, unknown>;
  retrieveLogs?: boolean;
}

export interface BenchEnv {
  stack: LocalStack;
  /** The first worker's proxy and process (the only ones unless `workers` > 1). */
  recorder: SfnRecorder;
  worker: WorkerProcess;
  workers: readonly BenchWorker[];
  /** Starts one more worker process with its own proxy (a new replica). */
  addWorker(): Promise<BenchWorker>;
  /** The task of a Job as the proxy of the worker that took it saw it. */
  taskForJob(jobName: string): TaskRecord | undefined;
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

  const workers: BenchWorker[] = [];
  const addWorker = async (): Promise<BenchWorker> => {
    const recorder = await startSfnRecorder(stack.sfn.endpoint);
    recorder.recordForeign = options.recordForeign ?? false;
    const name = `bench-worker-${workers.length + 1}`;
    const env: Record<string, string | undefined> = {
      ...stack.awsEnvironment(),
      AWS_ENDPOINT_URL_SFN: recorder.endpoint,
      EKS_WORKER_ACTIVITY_ARNS: activityArn,
      EKS_WORKER_NAME: name,
      EKS_WORKER_MAX_CONCURRENT_TASKS: String(options.maxConcurrentTasks),
      EKS_WORKER_POLLERS_PER_ACTIVITY: String(options.pollersPerActivity),
      EKS_WORKER_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs),
      EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
      EKS_WORKER_LOG_LEVEL: 'ERROR',
      ...options.workerEnv,
    };
    const logFile = options.logDir ? join(options.logDir, `${name}.log`) : undefined;
    const worker = startWorkerProcess({
      mode: options.mode,
      ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
      env: Object.fromEntries(
        Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
      ...(logFile ? { logFile } : {}),
    });
    const added: BenchWorker = { worker, recorder, name, ...(logFile ? { logFile } : {}) };
    workers.push(added);
    return added;
  };
  for (let index = 0; index < (options.workers ?? 1); index += 1) await addWorker();
  const [first] = workers;
  if (!first) throw new Error('a bench needs at least one worker');
  const { worker, recorder } = first;
  const taskForJob = (jobName: string): TaskRecord | undefined => {
    for (const { recorder: each } of workers) {
      const task = each.taskForJob(jobName);
      if (task) return task;
    }
    return undefined;
  };

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
    workers,
    addWorker,
    taskForJob,
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
        const pending = jobNames.filter((name) => taskForJob(name)?.answeredAtMs === undefined);
        if (pending.length === 0) return;
        if (Date.now() > deadline) {
          const ended = pending.filter((name) => jobEndedAtMs.has(name)).length;
          const delivered = pending.filter((name) => taskForJob(name)).length;
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
        for (const { worker: each } of workers) {
          if (each.child.exitCode !== null) {
            throw new Error(`a worker exited (${each.child.exitCode}):\n${each.tail()}`);
          }
        }
        await sleep(20);
      }
    },
    close: async () => {
      unsubscribe();
      await Promise.all(workers.map(({ worker: each }) => each.stop()));
      sfn.destroy();
      await Promise.all(workers.map(({ recorder: each }) => each.close()));
      await stack.close();
    },
  };
}
