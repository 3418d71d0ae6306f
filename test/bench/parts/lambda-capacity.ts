/**
 * Lambda capacity (issue 18): the DEFAULT Lambda deployment carrying thousands of long `.sync`
 * waits at once. Both functions run as packaged (`npm run package`: the esbuild bundles of
 * functions/poller.ts and functions/resumer.ts; `--tsx` runs the sources instead) in the local
 * Lambda service (infra/local-stack/lambda: child-process sandboxes, frozen between invocations,
 * killed at their timeout), with the settings of the CloudFormation template (lambda-deployment.ts):
 *
 * - the poller: 256 MB, reserved concurrency 2, invoked by a schedule; a throttled tick is retried
 *   until MaximumEventAge (60 s) and then dropped (MaximumRetryAttempts 0);
 * - the resumer: 1024 MB, EKS_WORKER_MAX_CARRIED_TASKS 1000, fed by an SQS event source (batch 10,
 *   window 0, maximum concurrency 10, ReportBatchItemFailures);
 * - the hand-off queue with its dead-letter queue (maxReceiveCount 10, 14 days);
 * - the worker's defaults for everything the template leaves out (heartbeat every 20 s, lease
 *   30 s, hand-off reserve 20 s), and `HeartbeatSeconds: 60` in the state machine.
 *
 * SCALED, so a run takes about 10 minutes instead of hours (everything else is real seconds):
 * - the resumer's timeout: 120 s instead of 900 (`--resumer-timeout-s`), and the queue's
 *   visibility timeout with it (the template sets it to the resumer's timeout); each invocation
 *   carries for timeout - 20 s, so a Job of 300-400 s crosses 3 or more invocations;
 * - the poller's schedule and poll window by 1/5: every 120 s polling 138 s (template: every
 *   600 s polling 690 s), so the schedule still overlaps invocations as deployed. Its timeout
 *   stays 900 s (it only bounds the window).
 * Step Functions holds a GetActivityTask 60 s, as AWS does.
 *
 * Every function talks to Step Functions through one recording proxy (sfn-recorder.ts), so the
 * bench sees each task's delivery, every heartbeat (whichever sandbox sends it) and the answer on
 * one clock. `--crash-resumer` SIGKILLs one busy resumer sandbox once every task is carried: its
 * leases run out and other invocations take its waits over.
 *
 * Figures: executions succeeded / failed by error; the longest time any task went without a
 * heartbeat; peak waits carried at once (messages in flight) and per invocation; resumer
 * invocations in all, per task (distinct invocations that logged `Task resumed` for it) and at
 * once; peak RSS per sandbox (`VmHWM`, and Lambda's `Max Memory Used`); SQS requests by caller
 * and action; CPU of the bench process (every local service and the proxy) and of the sandboxes.
 * The functions' logs are in `<logDir>/poller.log` and `<logDir>/resumer.log`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Server as HttpsServer } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalStack, startLocalStack } from '../../../infra/local-stack/index.ts';
import type { FunctionLogLine } from '../../../infra/local-stack/lambda/function-logs.ts';
import {
  createLocalFunction,
  type LocalLambdaFunction,
} from '../../../infra/local-stack/lambda/local-function.ts';
import { heapFlags } from '../../../infra/local-stack/lambda/sandbox-process.ts';
import {
  type SqsEventSource,
  startSqsEventSource,
} from '../../../infra/local-stack/lambda/sqs-event-source.ts';
import { importEnvironment } from '../../../infra/serverless/measure-bundle.ts';
import { makeTaskId } from '../../../lib/worker/task-runner.ts';
import { installKubeRequestCounter } from '../kube-request-counter.ts';
import {
  type LambdaDeployment,
  loadLambdaDeployment,
  type PackagedFunction,
} from '../lambda-deployment.ts';
import { type SfnRecorder, startSfnRecorder } from '../sfn-recorder.ts';
import { installSqsRequestCounter, type SqsRequestCounter } from '../sqs-request-counter.ts';
import { percentile, runPool, type Summary, summarize, toMiB } from '../stats.ts';
import { readMemory, type WorkerRunMode } from '../worker-process.ts';

export interface LambdaCapacityOptions {
  mode: WorkerRunMode;
  /** @default 5000 */
  tasks?: number;
  /** The shortest Job; Jobs run from this to this + 100 s, spread evenly. @default 300000 */
  jobRunMs?: number;
  /** The resumer's timeout, scaled down from the template's 900 s. @default 120 */
  resumerTimeoutSeconds?: number;
  /** SIGKILL one busy resumer sandbox once every task is carried. @default false */
  crashResumer?: boolean;
}

/** The poller's schedule and poll window are divided by this (600 s / 690 s -> 120 s / 138 s). */
const pollerTimeScale = 5;
const heartbeatSeconds = 60;
const jobSpreadMs = 100_000;

interface GapReport {
  ms: number;
  jobName: string;
  from: string;
  to: string;
  /** Seconds since the executions started. */
  fromAtS: number;
}

export interface LambdaCapacityResult {
  tasks: number;
  jobRunMs: { min: number; max: number };
  functionsRun: string;
  /** What was scaled and what was taken from the packaged template as is. */
  settings: Record<string, string | number | boolean>;
  logDir: string;
  succeeded: number;
  failures: Record<string, number>;
  failureExamples: Record<string, string>;
  heartbeatTimeouts: number;
  unanswered: number;
  dispatchSeconds: number;
  carried: {
    /**
     * Most hand-off messages in flight at once (leased), sampled every 2 s. A hand-back briefly
     * holds two per wait (the new message may be received before the old one is deleted).
     */
    peakInFlight: number;
    /** Most messages visible at once after the dispatch: waits nobody carried yet. */
    peakVisibleAfterDispatch: number;
    /** Most waits one invocation handed back at its end (`Carrier stopping`, carried). */
    maxPerInvocation: number;
    capacity: number;
  };
  gaps: {
    longest: GapReport | null;
    perTaskMaxMs: { median: number; p99: number; max: number };
    /** The longest of each kind, ms. */
    byKindMaxMs: Record<string, number>;
    tasksOver40s: number;
    tasksOver60s: number;
    worst: GapReport[];
  };
  refusedHeartbeats: Record<string, number>;
  /** Job terminal condition -> the answer reaching Step Functions. */
  jobEndToAnswerMs: Summary;
  resumer: {
    invocations: number;
    byStatus: Record<string, number>;
    coldStarts: number;
    maxConcurrent: number;
    durationSeconds: { median: number; max: number };
    invocationsPerTask: { mean: number; min: number; max: number };
    maxHandOffCount: number;
    sandboxes: number;
    /** A sandbox after one empty invocation (runtime built, nothing carried). */
    idleRssMiB: number;
    /** Of the RSS figures, what the local service's tsx loader adds (bundle mode; else null). */
    tsxLoaderMiB: number | null;
    peakRssMiB: number;
    peakRssMiBBySandbox: Record<string, number>;
    /** Lambda's REPORT `Max Memory Used`, the largest. */
    maxMemoryUsedMb: number;
    recordsReportedFailed: number;
  };
  poller: {
    ticks: number;
    invocations: number;
    byStatus: Record<string, number>;
    ticksDropped: number;
    maxConcurrent: number;
    peakRssMiB: number;
  };
  crash: {
    atS: number;
    sandboxId: number;
    requestId: string | null;
    /** Tasks that invocation had carried (logged `Task resumed`). */
    tasks: number;
    succeeded: number;
    longestGapMs: number;
  } | null;
  /** WARN and ERROR log lines of the functions, by message. */
  warnings: Record<string, number>;
  /** The Kubernetes API server: requests by kind, and TLS connections it accepted. */
  kube: { requests: Record<string, number>; tlsConnections: number };
  sqs: {
    byCaller: Record<string, Record<string, number>>;
    total: number;
    perTask: number;
    deadLetters: number;
    leftInQueue: number;
  };
  cpu: {
    wallSeconds: number;
    /** The bench process: Step Functions, SQS, EKS, the API server and Job controller, the proxy. */
    benchPercentOfCore: number;
    sandboxesPercentOfCore: number;
    maxLoadAverage: number;
    /** The machine's other processes (another job on a shared machine), % of a core. */
    othersPercentOfCore: number;
    othersMaxPercentOfCore: number;
  };
  samples: {
    atS: number;
    delivered: number;
    answered: number;
    visible: number;
    inFlight: number;
    resumersRunning: number;
    pollersRunning: number;
    benchCpuPercent: number;
    sandboxCpuPercent: number;
    /** Everything else on the machine: busy CPU (/proc/stat) minus the bench and sandboxes. */
    othersCpuPercent: number;
    loadAverage: number;
  }[];
}

/** User+system CPU seconds of a process (Linux /proc; 100 clock ticks a second). */
const readCpuSeconds = (pid: number): number | undefined => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
};

/**
 * What tsx's loader, which every local sandbox starts with (`--import tsx`, for its TypeScript
 * entry), adds to a sandbox's RSS and Lambda's runtime does not: the RSS of a fresh node that
 * imports the bundle with the sandbox's heap flags, with the loader minus without it (MiB).
 */
const measureTsxLoaderMiB = (modulePath: string, memorySizeMb: number): number => {
  const script = `await import(${JSON.stringify(modulePath)}); await new Promise((r) => setTimeout(r, 500)); process.stdout.write(/VmRSS:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]);`;
  const rssKiB = (loader: string[]) => {
    const args = [...loader, ...heapFlags(memorySizeMb), '--input-type=module', '-e', script];
    const run = spawnSync(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', ...importEnvironment, NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`importing ${modulePath} failed: ${run.stderr}`);
    return Number(run.stdout);
  };
  return round((rssKiB(['--import', 'tsx']) - rssKiB([])) / 1024);
};

/** Counts the TLS connections the local API servers accept (the only HTTPS servers here). */
const installTlsConnectionCounter = () => {
  let count = 0;
  const original = HttpsServer.prototype.emit;
  HttpsServer.prototype.emit = function patchedEmit(
    this: HttpsServer,
    event: string | symbol,
    ...args: unknown[]
  ) {
    if (event === 'secureConnection') count += 1;
    return original.apply(this, [event, ...args] as Parameters<typeof original>);
  } as typeof original;
  return {
    count: () => count,
    uninstall: () => {
      HttpsServer.prototype.emit = original;
    },
  };
};

/** Busy CPU seconds of the whole machine so far (/proc/stat, 100 ticks a second). */
const readMachineBusySeconds = (): number => {
  const [user, nice, system, , , irq, softirq, steal] = (
    readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  )
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100
  );
};

const countBy = (values: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
};

const round = (value: number, digits = 1): number =>
  Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * EventBridge's schedule in front of an async-invoked function: a tick every `rateMs` (the first
 * at once); a tick the reserved concurrency refuses is retried every 10 s until
 * `maximumEventAgeMs`, then dropped; a failed invocation is not retried (MaximumRetryAttempts 0).
 */
const startSchedule = (fn: LocalLambdaFunction, rateMs: number, maximumEventAgeMs: number) => {
  const state = { ticks: 0, dropped: 0, running: 0, maxRunning: 0, statuses: [] as string[] };
  const stopping = new AbortController();
  const tick = async (): Promise<void> => {
    state.ticks += 1;
    const firedAtMs = Date.now();
    while (!stopping.signal.aborted) {
      state.running += 1;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      const result = await fn.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
      state.running -= 1;
      if (result.status !== 'throttled') {
        state.statuses.push(result.status);
        return;
      }
      if (Date.now() + 10_000 - firedAtMs > maximumEventAgeMs) {
        state.dropped += 1;
        return;
      }
      await sleep(10_000, undefined, { signal: stopping.signal }).catch(() => {});
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), rateMs);
  return {
    state,
    stop: () => {
      clearInterval(timer);
      stopping.abort();
    },
  };
};

/** The state machine of bench-env.ts: one runJob.sync task whose Job runs a scripted duration. */
const createRunJobStateMachine = async (
  sfn: SFNClient,
  stack: LocalStack,
  activityArn: string,
  name: string,
): Promise<string> => {
  const definition = {
    StartAt: 'Run the Job',
    States: {
      'Run the Job': {
        Type: 'Task',
        Resource: activityArn,
        HeartbeatSeconds: heartbeatSeconds,
        Parameters: {
          ClusterName: stack.cluster.clusterName,
          Endpoint: stack.cluster.endpoint,
          CertificateAuthority: stack.cluster.caData,
          Namespace: 'default',
          Job: {
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: { 'name.$': '$.jobName' },
            spec: {
              backoffLimit: 0,
              template: {
                metadata: { annotations: { 'local.eks-activity-worker/script.$': '$.script' } },
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
      name,
      definition: JSON.stringify(definition),
      roleArn: `arn:aws:iam::${stack.accountId}:role/bench`,
    }),
  );
  if (!stateMachineArn) throw new Error('CreateStateMachine gave no ARN');
  return stateMachineArn;
};

/** What the bench reads from the functions' logs as they are written. */
const makeLogReader = () => {
  const invocationsByTask = new Map<string, Set<string>>();
  const warnings: string[] = [];
  const reader = {
    invocationsByTask,
    warnings,
    maxHandOffCount: 0,
    maxCarriedAtStop: 0,
    maxMemoryUsedMb: 0,
    pollerStarted: false,
    onLine: (line: FunctionLogLine): void => {
      if (line.stream === 'platform') {
        const used = /Max Memory Used: (\d+) MB/.exec(line.line)?.[1];
        if (used) reader.maxMemoryUsedMb = Math.max(reader.maxMemoryUsedMb, Number(used));
        return;
      }
      if (!line.line.startsWith('{')) return;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line.line) as Record<string, unknown>;
      } catch {
        return;
      }
      const { message, level } = entry;
      if (level === 'WARN' || level === 'ERROR')
        warnings.push(`${line.functionName} ${level}: ${message}`);
      if (message === 'Worker started') reader.pollerStarted = true;
      if (message === 'Task resumed' && typeof entry.taskId === 'string' && line.requestId) {
        const seen = invocationsByTask.get(entry.taskId) ?? new Set<string>();
        seen.add(line.requestId);
        invocationsByTask.set(entry.taskId, seen);
        reader.maxHandOffCount = Math.max(reader.maxHandOffCount, Number(entry.handOffCount) || 0);
      }
      if (typeof message === 'string' && message.startsWith('Carrier stopping')) {
        reader.maxCarriedAtStop = Math.max(reader.maxCarriedAtStop, Number(entry.carried) || 0);
      }
    },
  };
  return reader;
};

export const runLambdaCapacity = async (
  options: LambdaCapacityOptions,
): Promise<LambdaCapacityResult> => {
  const tasks = options.tasks ?? 5_000;
  const jobRunMs = options.jobRunMs ?? 300_000;
  const resumerTimeoutSeconds = options.resumerTimeoutSeconds ?? 120;
  const logDir = mkdtempSync(join(tmpdir(), 'eks-worker-lambda-capacity-'));
  console.log(`  function logs: ${logDir}`);

  // A bench interrupted (Ctrl-C, `timeout`) still kills its frozen sandboxes: `exit` runs their
  // guard (infra/local-stack/lambda/sandbox-process.ts), which a signal's default action skips.
  const onSignal = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deployment: LambdaDeployment = await loadLambdaDeployment();
  const closers: (() => Promise<void> | void)[] = [() => deployment.close()];
  try {
    const stack = await startLocalStack();
    closers.unshift(() => stack.close());
    const sfn = new SFNClient({
      region: stack.region,
      endpoint: stack.sfn.endpoint,
      credentials: stack.credentials,
    });
    closers.unshift(() => sfn.destroy());
    const sqsClient = new SQSClient({
      region: stack.region,
      endpoint: stack.sqs.endpoint,
      credentials: stack.credentials,
    });
    closers.unshift(() => sqsClient.destroy());

    // Every activity of the template (the poller polls them all); executions use runJob.sync.
    const activityArns: string[] = [];
    for (const name of deployment.activityNames) {
      const { activityArn } = await sfn.send(new CreateActivityCommand({ name }));
      activityArns.push(activityArn as string);
    }
    const runJobSyncArn = activityArns.find((arn) => arn.endsWith('-eks-runJob-sync'));
    if (!runJobSyncArn) throw new Error('the template has no eks-runJob-sync activity');
    const stateMachineArn = await createRunJobStateMachine(sfn, stack, runJobSyncArn, 'lcap');

    // The queues as the template defines them, the visibility timeout scaled with the resumer's
    // timeout (the template sets them equal: Lambda refuses a shorter one).
    const { QueueUrl: dlqUrl } = await sqsClient.send(
      new CreateQueueCommand({
        QueueName: 'lcap-handoff-dlq',
        Attributes: { MessageRetentionPeriod: String(deployment.deadLetterRetentionSeconds) },
      }),
    );
    const { Attributes: dlqAttributes } = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const { QueueUrl: queueUrl } = await sqsClient.send(
      new CreateQueueCommand({
        QueueName: 'lcap-handoff',
        Attributes: {
          VisibilityTimeout: String(resumerTimeoutSeconds),
          MessageRetentionPeriod: String(deployment.queue.retentionSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqAttributes?.QueueArn,
            maxReceiveCount: deployment.queue.maxReceiveCount,
          }),
        },
      }),
    );
    if (!queueUrl) throw new Error('CreateQueue gave no URL');

    const recorder: SfnRecorder = await startSfnRecorder(stack.sfn.endpoint);
    closers.unshift(() => recorder.close());
    const sqsCounter: SqsRequestCounter = installSqsRequestCounter(stack.sqs.endpoint);
    closers.unshift(() => sqsCounter.uninstall());

    const environmentOf = (fn: PackagedFunction, extra: Record<string, string> = {}) => {
      const filled = new Set(['EKS_WORKER_ACTIVITY_ARNS', 'EKS_WORKER_HANDOFF_QUEUE_URL']);
      const unknown = Object.keys(fn.computedEnv).filter((name) => !filled.has(name));
      if (unknown.length > 0) throw new Error(`the bench cannot fill ${unknown.join(', ')}`);
      return {
        ...stack.awsEnvironment(),
        ...fn.environment,
        // Every function through the one recording proxy: it sees each task's whole life.
        AWS_ENDPOINT_URL_SFN: recorder.endpoint,
        EKS_WORKER_ACTIVITY_ARNS: activityArns.join(','),
        EKS_WORKER_HANDOFF_QUEUE_URL: queueUrl,
        ...extra,
      };
    };
    const handlerOf = (fn: PackagedFunction, source: string) =>
      options.mode === 'bundle'
        ? {
            taskRoot: deployment.taskRoot,
            handler: { modulePath: fn.modulePath, exportName: fn.exportName },
          }
        : { handler: { modulePath: source, exportName: fn.exportName } };

    const logs = makeLogReader();
    const pollerWindowMs =
      Number(deployment.poller.environment.EKS_WORKER_POLL_WINDOW_MS) / pollerTimeScale;
    const pollerRateMs = (deployment.poller.scheduleRateSeconds * 1000) / pollerTimeScale;
    const poller = createLocalFunction({
      functionName: 'lcap-poller',
      ...handlerOf(deployment.poller, 'functions/poller.ts'),
      timeoutMs: deployment.poller.timeoutSeconds * 1000,
      memorySizeMb: deployment.poller.memorySizeMb,
      ...(deployment.poller.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrency: deployment.poller.reservedConcurrency }),
      environment: environmentOf(deployment.poller, {
        EKS_WORKER_POLL_WINDOW_MS: String(pollerWindowMs),
      }),
      logs: { filePath: join(logDir, 'poller.log'), onLine: logs.onLine },
    });
    closers.unshift(() => poller.close());
    const resumerConfig = {
      functionName: 'lcap-resumer',
      ...handlerOf(deployment.resumer, 'functions/resumer.ts'),
      timeoutMs: resumerTimeoutSeconds * 1000,
      memorySizeMb: deployment.resumer.memorySizeMb,
      ...(deployment.resumer.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrency: deployment.resumer.reservedConcurrency }),
      environment: environmentOf(deployment.resumer),
    };
    const resumer = createLocalFunction({
      ...resumerConfig,
      logs: { filePath: join(logDir, 'resumer.log'), onLine: logs.onLine },
    });
    closers.unshift(() => resumer.close());

    const jobEndedAtMs = new Map<string, number>();
    const unsubscribe = stack.cluster.store.subscribe((event) => {
      if (event.resource.resource !== 'jobs' || event.type === 'DELETED') return;
      const name = event.object.metadata.name;
      const conditions = (
        event.object as { status?: { conditions?: { type?: string; status?: string }[] } }
      ).status?.conditions;
      if (name === undefined || jobEndedAtMs.has(name)) return;
      if (
        conditions?.some(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        )
      ) {
        jobEndedAtMs.set(name, performance.now());
      }
    });
    closers.unshift(unsubscribe);

    // An idle sandbox's RSS: the same function after one empty invocation (the queue is empty).
    const idleProbe = createLocalFunction({
      ...resumerConfig,
      functionName: 'lcap-resumer-idle',
      logs: { filePath: join(logDir, 'resumer-idle.log') },
    });
    let idleRssBytes = 0;
    try {
      const probed = await idleProbe.invoke({ Records: [] });
      if (probed.status !== 'succeeded') throw new Error(`idle probe ${probed.status}`);
      const pid = idleProbe.sandboxes()[0]?.pid;
      idleRssBytes = pid === undefined ? 0 : (readMemory(pid)?.rssBytes ?? 0);
    } finally {
      await idleProbe.close();
    }
    const tsxLoaderMiB =
      options.mode === 'bundle'
        ? measureTsxLoaderMiB(
            join(deployment.taskRoot, deployment.resumer.modulePath),
            deployment.resumer.memorySizeMb,
          )
        : null;

    sqsCounter.reset();
    const kubeCounter = installKubeRequestCounter();
    closers.unshift(() => kubeCounter.uninstall());
    const tlsCounter = installTlsConnectionCounter();
    closers.unshift(() => tlsCounter.uninstall());
    const eventSource: SqsEventSource = await startSqsEventSource({
      function: resumer,
      queueUrl,
      sqs: { endpoint: stack.sqs.endpoint, credentials: stack.credentials },
      batchSize: deployment.eventSource.batchSize,
      maximumBatchingWindowSeconds: deployment.eventSource.maximumBatchingWindowSeconds,
      ...(deployment.eventSource.maximumConcurrency === undefined
        ? {}
        : { maximumConcurrency: deployment.eventSource.maximumConcurrency }),
      functionResponseTypes: deployment.eventSource.functionResponseTypes,
    });
    closers.unshift(() => eventSource.stop({ force: true }));
    const schedule = startSchedule(
      poller,
      pollerRateMs,
      deployment.poller.maximumEventAgeSeconds * 1000,
    );
    closers.unshift(() => schedule.stop());
    const startedWaitingMs = Date.now();
    while (!logs.pollerStarted) {
      if (Date.now() - startedWaitingMs > 60_000) throw new Error('the poller never started');
      await sleep(100);
    }

    // Sampling: the queue and the sandboxes every 2 s, a progress line every 15 s.
    const runStartMs = performance.now();
    const at = (ms: number) => round((ms - runStartMs) / 1000);
    const cpuAtStart = process.cpuUsage();
    const sandboxCpu = new Map<number, { first: number; last: number }>();
    const peakRss = new Map<string, number>();
    const samples: LambdaCapacityResult['samples'] = [];
    let peakInFlight = 0;
    let peakVisibleAfterDispatch = 0;
    let dispatched = false;
    let maxLoadAverage = 0;
    let sampling = true;
    const sandboxCpuTotal = () =>
      [...sandboxCpu.values()].reduce((sum, { first, last }) => sum + last - first, 0);
    const sampler = (async () => {
      let lastReport = {
        atMs: performance.now(),
        bench: 0,
        sandboxes: 0,
        machine: readMachineBusySeconds(),
      };
      while (sampling) {
        const queue = stack.sqs.inspect.queue(queueUrl);
        const inFlight = queue?.inFlight.length ?? 0;
        const visible = queue?.visible.length ?? 0;
        peakInFlight = Math.max(peakInFlight, inFlight);
        if (dispatched) peakVisibleAfterDispatch = Math.max(peakVisibleAfterDispatch, visible);
        for (const [fn, label] of [
          [resumer, 'resumer'],
          [poller, 'poller'],
        ] as const) {
          for (const sandbox of fn.sandboxes()) {
            if (sandbox.pid === undefined) continue;
            const peak = readMemory(sandbox.pid)?.peakRssBytes ?? 0;
            const key = `${label}#${sandbox.id}`;
            peakRss.set(key, Math.max(peakRss.get(key) ?? 0, peak));
            const cpu = readCpuSeconds(sandbox.pid);
            if (cpu !== undefined) {
              const seen = sandboxCpu.get(sandbox.pid);
              sandboxCpu.set(sandbox.pid, { first: seen?.first ?? cpu, last: cpu });
            }
          }
        }
        const now = performance.now();
        if (now - lastReport.atMs >= 15_000) {
          const bench = process.cpuUsage(cpuAtStart);
          const benchSeconds = (bench.user + bench.system) / 1e6;
          const sandboxSeconds = sandboxCpuTotal();
          const windowSeconds = (now - lastReport.atMs) / 1000;
          const machineSeconds = readMachineBusySeconds();
          const othersSeconds =
            machineSeconds -
            lastReport.machine -
            (benchSeconds - lastReport.bench) -
            (sandboxSeconds - lastReport.sandboxes);
          let answered = 0;
          for (const task of recorder.tasks.values())
            if (task.answeredAtMs !== undefined) answered += 1;
          const sample = {
            atS: at(now),
            delivered: recorder.tasks.size,
            answered,
            visible,
            inFlight,
            resumersRunning: resumer.busyCount(),
            pollersRunning: poller.busyCount(),
            benchCpuPercent: Math.round(((benchSeconds - lastReport.bench) / windowSeconds) * 100),
            sandboxCpuPercent: Math.round(
              ((sandboxSeconds - lastReport.sandboxes) / windowSeconds) * 100,
            ),
            othersCpuPercent: Math.max(0, Math.round((othersSeconds / windowSeconds) * 100)),
            loadAverage: round(loadavg()[0] ?? 0, 2),
          };
          maxLoadAverage = Math.max(maxLoadAverage, sample.loadAverage);
          samples.push(sample);
          console.log(
            `  ${sample.atS} s: ${sample.delivered} delivered, ${sample.answered} answered; queue ${visible} visible, ${inFlight} in flight; resumers running ${sample.resumersRunning} (${eventSource.stats().invocationsStarted} invocations), pollers ${sample.pollersRunning}; CPU bench ${sample.benchCpuPercent}%, sandboxes ${sample.sandboxCpuPercent}%, other processes ${sample.othersCpuPercent}%; load ${sample.loadAverage}`,
          );
          lastReport = {
            atMs: now,
            bench: benchSeconds,
            sandboxes: sandboxSeconds,
            machine: machineSeconds,
          };
        }
        await sleep(2_000);
      }
    })();

    // All executions at once (25 StartExecution calls in flight), Jobs of jobRunMs .. + 100 s.
    const prefix = `lcap${Date.now().toString(36)}`;
    const names = Array.from({ length: tasks }, (_, i) => `${prefix}-${i}`);
    const durationOf = (index: number) => jobRunMs + Math.round((index / tasks) * jobSpreadMs);
    const arns = await runPool(names, 25, async (name, index) => {
      const out = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          input: JSON.stringify({
            jobName: name,
            script: JSON.stringify({ durationMs: durationOf(index) }),
          }),
        }),
      );
      return out.executionArn as string;
    });
    const dispatchDeadline = Date.now() + jobRunMs;
    while (names.some((name) => recorder.taskForJob(name) === undefined)) {
      if (Date.now() > dispatchDeadline) {
        console.error(`  not every task was delivered within ${jobRunMs} ms`);
        break;
      }
      await sleep(200);
    }
    const lastDeliveredMs = Math.max(
      ...names.map((name) => recorder.taskForJob(name)?.deliveredAtMs ?? 0),
    );
    dispatched = true;
    console.log(`  every task delivered ${at(lastDeliveredMs)} s after the start`);

    let crash: { atMs: number; sandboxId: number } | undefined;
    if (options.crashResumer) {
      // Once every task is parked and carried (a minute after the last delivery).
      await sleep(Math.max(0, lastDeliveredMs + 60_000 - performance.now()));
      const sandboxId = resumer.crashOneBusySandbox();
      if (sandboxId === undefined) console.error('  no busy resumer sandbox to crash');
      else {
        crash = { atMs: performance.now(), sandboxId };
        console.log(`  SIGKILLed resumer sandbox ${sandboxId} at ${at(crash.atMs)} s`);
      }
    }

    const answersDeadline = Date.now() + jobRunMs + jobSpreadMs + 240_000;
    let unanswered = 0;
    for (;;) {
      unanswered = names.filter((n) => recorder.taskForJob(n)?.answeredAtMs === undefined).length;
      if (unanswered === 0 || Date.now() > answersDeadline) break;
      await sleep(500);
    }
    const endMs = performance.now();
    if (unanswered > 0) console.error(`  ${unanswered} tasks unanswered when the bench gave up`);
    const executions = await runPool(arns, 25, async (executionArn) => {
      for (let attempt = 0; ; attempt += 1) {
        const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (e.status !== 'RUNNING' || unanswered > 0 || attempt >= 100) return e;
        await sleep(100);
      }
    });
    sampling = false;
    await sampler;
    const benchCpu = process.cpuUsage(cpuAtStart);
    const sqsCounts = sqsCounter.counts();
    const kube = { requests: kubeCounter.counts(), tlsConnections: tlsCounter.count() };
    const sourceStats = eventSource.stats();

    // Outcomes.
    const failures: Record<string, number> = {};
    const failureExamples: Record<string, string> = {};
    let heartbeatTimeouts = 0;
    for (const e of executions) {
      if (e.status === 'SUCCEEDED') continue;
      if (e.error === 'States.HeartbeatTimeout') heartbeatTimeouts += 1;
      const key = `${e.status}:${e.error ?? ''}`;
      failures[key] = (failures[key] ?? 0) + 1;
      failureExamples[key] ??= (e.cause ?? '').slice(0, 300);
    }

    // Heartbeat gaps, per task, on the proxy's clock: delivery, each heartbeat, the answer.
    const gapsPerTask = new Map<string, number>();
    const allGaps: GapReport[] = [];
    const byKindMaxMs: Record<string, number> = {};
    const refused: string[] = [];
    const jobEndToAnswer: number[] = [];
    for (const name of names) {
      const task = recorder.taskForJob(name);
      if (!task) continue;
      refused.push(...task.refusedHeartbeats);
      const end = task.answeredAtMs ?? endMs;
      const points = [
        { atMs: task.deliveredAtMs, what: 'delivery' },
        ...task.heartbeatsAtMs.filter((t) => t <= end).map((atMs) => ({ atMs, what: 'heartbeat' })),
        { atMs: end, what: task.answeredAtMs === undefined ? 'bench end' : 'answer' },
      ];
      let worst = 0;
      for (let i = 1; i < points.length; i += 1) {
        const from = points[i - 1] as (typeof points)[number];
        const to = points[i] as (typeof points)[number];
        const ms = to.atMs - from.atMs;
        worst = Math.max(worst, ms);
        const kind = `${from.what} -> ${to.what}`;
        byKindMaxMs[kind] = Math.max(byKindMaxMs[kind] ?? 0, Math.round(ms));
        if (ms > 30_000) {
          allGaps.push({
            ms: Math.round(ms),
            jobName: name,
            from: from.what,
            to: to.what,
            fromAtS: at(from.atMs),
          });
        }
      }
      gapsPerTask.set(name, worst);
      const ended = jobEndedAtMs.get(name);
      if (ended !== undefined && task.answeredAtMs !== undefined)
        jobEndToAnswer.push(task.answeredAtMs - ended);
    }
    allGaps.sort((a, b) => b.ms - a.ms);
    const perTaskGaps = [...gapsPerTask.values()];

    // Invocations per task, from the `Task resumed` lines (tokens -> taskId as the worker logs it).
    const taskIdOf = new Map<string, string>();
    for (const [token, task] of recorder.tasks) {
      if (task.jobName !== undefined) taskIdOf.set(task.jobName, makeTaskId(token));
    }
    const perTaskInvocations = names.map(
      (name) => logs.invocationsByTask.get(taskIdOf.get(name) ?? '')?.size ?? 0,
    );

    // The crashed invocation and the tasks it carried.
    let crashReport: LambdaCapacityResult['crash'] = null;
    if (crash) {
      const { sandboxId, atMs } = crash;
      const crashed = sourceStats.invocations.find(
        (i) => i.sandboxId === sandboxId && i.status === 'crashed',
      );
      const victims = names.filter((name) =>
        crashed
          ? logs.invocationsByTask.get(taskIdOf.get(name) ?? '')?.has(crashed.requestId)
          : false,
      );
      crashReport = {
        atS: at(atMs),
        sandboxId,
        requestId: crashed?.requestId ?? null,
        tasks: victims.length,
        succeeded: victims.filter((name) => executions[names.indexOf(name)]?.status === 'SUCCEEDED')
          .length,
        longestGapMs: Math.round(Math.max(0, ...victims.map((name) => gapsPerTask.get(name) ?? 0))),
      };
    }

    const durations = sourceStats.invocations.map((i) => i.durationMs / 1000);
    const rssOf = (label: string) =>
      Object.fromEntries(
        [...peakRss]
          .filter(([key]) => key.startsWith(label))
          .map(([key, bytes]) => [key, toMiB(bytes)]),
      );
    const resumerRss = rssOf('resumer#');
    const pollerRss = rssOf('poller#');
    const allRequests = Object.values(sqsCounts).flatMap((byAction) => Object.values(byAction));
    const sqsTotal = allRequests.reduce((a, b) => a + b, 0);
    const queueNow = stack.sqs.inspect.queue(queueUrl);
    const wallSeconds = (endMs - runStartMs) / 1000;
    const functionsRun =
      options.mode === 'bundle'
        ? 'the packaged esbuild bundles (npm run package), in local Lambda sandboxes'
        : 'functions/*.ts through tsx, in local Lambda sandboxes';
    return {
      tasks,
      jobRunMs: { min: jobRunMs, max: durationOf(tasks - 1) },
      functionsRun,
      settings: {
        resumerTimeoutSeconds: `${resumerTimeoutSeconds} (SCALED; template ${deployment.resumer.timeoutSeconds})`,
        queueVisibilityTimeoutSeconds: `${resumerTimeoutSeconds} (= the resumer timeout, as the template's ${deployment.queue.visibilityTimeoutSeconds})`,
        pollerSchedule: `every ${pollerRateMs / 1000} s, poll window ${pollerWindowMs / 1000} s (SCALED 1/${pollerTimeScale}; template every ${deployment.poller.scheduleRateSeconds} s, ${deployment.poller.environment.EKS_WORKER_POLL_WINDOW_MS} ms)`,
        pollerTimeoutSeconds: deployment.poller.timeoutSeconds,
        pollerMemoryMb: deployment.poller.memorySizeMb,
        pollerReservedConcurrency: deployment.poller.reservedConcurrency ?? 'none',
        pollerMaximumEventAgeSeconds: deployment.poller.maximumEventAgeSeconds,
        resumerMemoryMb: deployment.resumer.memorySizeMb,
        maxCarriedTasks: deployment.resumer.environment.EKS_WORKER_MAX_CARRIED_TASKS ?? 'default',
        eventSource: JSON.stringify(deployment.eventSource),
        maxReceiveCount: deployment.queue.maxReceiveCount,
        activitiesPolled: activityArns.length,
        heartbeatSeconds,
        workerDefaults:
          'heartbeat 20 s, lease 30 s, hand-off reserve 20 s, 8 polls per activity, 200 poller slots',
        sfnLongPollHoldSeconds: 60,
      },
      logDir,
      succeeded: executions.filter((e) => e.status === 'SUCCEEDED').length,
      failures,
      failureExamples,
      heartbeatTimeouts,
      unanswered,
      dispatchSeconds: at(lastDeliveredMs),
      carried: {
        peakInFlight,
        peakVisibleAfterDispatch,
        maxPerInvocation: logs.maxCarriedAtStop,
        capacity:
          (deployment.eventSource.maximumConcurrency ?? 1000) *
          Number(deployment.resumer.environment.EKS_WORKER_MAX_CARRIED_TASKS ?? 2000),
      },
      gaps: {
        longest: allGaps[0] ?? null,
        perTaskMaxMs: {
          median: Math.round(percentile(perTaskGaps, 50)),
          p99: Math.round(percentile(perTaskGaps, 99)),
          max: Math.round(percentile(perTaskGaps, 100)),
        },
        byKindMaxMs,
        tasksOver40s: perTaskGaps.filter((g) => g > 40_000).length,
        tasksOver60s: perTaskGaps.filter((g) => g > 60_000).length,
        worst: allGaps.slice(0, 5),
      },
      refusedHeartbeats: countBy(refused),
      jobEndToAnswerMs: summarize(jobEndToAnswer),
      resumer: {
        invocations: sourceStats.invocationsStarted,
        byStatus: countBy(sourceStats.invocations.map((i) => i.status)),
        coldStarts: sourceStats.invocations.filter((i) => i.coldStart).length,
        maxConcurrent: sourceStats.maxConcurrentInvocations,
        durationSeconds: {
          median: round(percentile(durations, 50)),
          max: round(percentile(durations, 100)),
        },
        invocationsPerTask: {
          mean: round(perTaskInvocations.reduce((a, b) => a + b, 0) / tasks, 2),
          min: Math.min(...perTaskInvocations),
          max: Math.max(...perTaskInvocations),
        },
        maxHandOffCount: logs.maxHandOffCount,
        sandboxes: Object.keys(resumerRss).length,
        idleRssMiB: toMiB(idleRssBytes),
        tsxLoaderMiB,
        peakRssMiB: Math.max(0, ...Object.values(resumerRss)),
        peakRssMiBBySandbox: resumerRss,
        maxMemoryUsedMb: logs.maxMemoryUsedMb,
        recordsReportedFailed: sourceStats.recordsReportedFailed,
      },
      poller: {
        ticks: schedule.state.ticks,
        invocations: schedule.state.statuses.length + poller.busyCount(),
        byStatus: countBy(schedule.state.statuses),
        ticksDropped: schedule.state.dropped,
        maxConcurrent: schedule.state.maxRunning,
        peakRssMiB: Math.max(0, ...Object.values(pollerRss)),
      },
      crash: crashReport,
      warnings: countBy(logs.warnings),
      kube,
      sqs: {
        byCaller: sqsCounts,
        total: sqsTotal,
        perTask: round(sqsTotal / tasks, 2),
        deadLetters: stack.sqs.inspect.deadLetters(queueUrl).length,
        leftInQueue:
          (queueNow?.visible.length ?? 0) +
          (queueNow?.inFlight.length ?? 0) +
          (queueNow?.delayed.length ?? 0),
      },
      cpu: {
        wallSeconds: Math.round(wallSeconds),
        benchPercentOfCore: Math.round(
          ((benchCpu.user + benchCpu.system) / 1e6 / wallSeconds) * 100,
        ),
        sandboxesPercentOfCore: Math.round((sandboxCpuTotal() / wallSeconds) * 100),
        maxLoadAverage,
        othersPercentOfCore: Math.round(
          samples.reduce((sum, x) => sum + x.othersCpuPercent, 0) / Math.max(1, samples.length),
        ),
        othersMaxPercentOfCore: Math.max(0, ...samples.map((x) => x.othersCpuPercent)),
      },
      samples,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    // Newest first: the schedule and the event source stop before the functions close (their
    // sandboxes are killed), then the proxy and the stack.
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        console.error(`  cleanup: ${(error as Error).message}`);
      }
    }
  }
};

/** The summary rows of the run-bench table. */
export const lambdaCapacitySummary = (
  r: LambdaCapacityResult,
): { figure: string; measured: string; goal: string; met: boolean | null }[] => {
  const failed = r.tasks - r.succeeded;
  const longest = r.gaps.longest;
  const actions = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([action, n]) => `${action} ${n}`)
      .join(', ');
  const rows = [
    {
      figure: `Lambda capacity: ${r.tasks} runJob.sync executions at once on the default deployment (Jobs ${r.jobRunMs.min / 1000}-${r.jobRunMs.max / 1000} s; resumer timeout ${r.settings.resumerTimeoutSeconds})`,
      measured: `${r.succeeded}/${r.tasks} succeeded${failed > 0 ? `, failed ${JSON.stringify(r.failures)}` : ''}; States.HeartbeatTimeout ${r.heartbeatTimeouts}; ${r.unanswered} unanswered; dispatched in ${r.dispatchSeconds} s`,
      goal: '0 failed, 0 HeartbeatTimeout',
      met: r.succeeded === r.tasks && r.heartbeatTimeouts === 0,
    },
    {
      figure: `Lambda capacity: longest time a task went without a heartbeat (every sandbox through one proxy; HeartbeatSeconds ${heartbeatSeconds})`,
      measured: `${longest ? `${longest.ms} ms (${longest.from} -> ${longest.to} at ${longest.fromAtS} s)` : 'none over 30 s'}; per task median ${r.gaps.perTaskMaxMs.median} ms, p99 ${r.gaps.perTaskMaxMs.p99} ms, max ${r.gaps.perTaskMaxMs.max} ms; by kind ${actions(r.gaps.byKindMaxMs)}; ${r.gaps.tasksOver40s} tasks over 40 s, ${r.gaps.tasksOver60s} over 60 s`,
      goal: `< ${heartbeatSeconds} s`,
      met: r.gaps.perTaskMaxMs.max < heartbeatSeconds * 1000 && r.unanswered === 0,
    },
    {
      figure: 'Lambda capacity: waits carried at once',
      measured: `every task carried by ${r.resumer.invocationsPerTask.min} or more invocations; peak ${r.carried.peakInFlight} messages in flight (a hand-back briefly counts twice); at most ${r.carried.maxPerInvocation} handed back by one invocation; at most ${r.carried.peakVisibleAfterDispatch} visible (uncarried) at once after the dispatch; capacity ${r.carried.capacity}`,
      goal: `every task carried (${r.tasks})`,
      met: r.resumer.invocationsPerTask.min >= 1,
    },
    {
      figure: 'Lambda capacity: resumer invocations',
      measured: `${r.resumer.invocations} in all (${actions(r.resumer.byStatus)}; ${r.resumer.coldStarts} cold), at most ${r.resumer.maxConcurrent} at once; per task mean ${r.resumer.invocationsPerTask.mean}, min ${r.resumer.invocationsPerTask.min}, max ${r.resumer.invocationsPerTask.max} (largest handOffCount ${r.resumer.maxHandOffCount}); duration median ${r.resumer.durationSeconds.median} s, max ${r.resumer.durationSeconds.max} s`,
      goal: `at most maximumConcurrency at once; each task through several invocations`,
      met: null,
    },
    {
      figure: `Lambda capacity: peak RSS per resumer sandbox (${r.settings.resumerMemoryMb} MB, ${r.settings.maxCarriedTasks} waits)`,
      measured: `${r.resumer.peakRssMiB} MiB VmHWM over ${r.resumer.sandboxes} sandboxes (${Object.values(r.resumer.peakRssMiBBySandbox).join(', ')}); idle ${r.resumer.idleRssMiB} MiB; Lambda's Max Memory Used ${r.resumer.maxMemoryUsedMb} MB; poller ${r.poller.peakRssMiB} MiB${r.resumer.tsxLoaderMiB === null ? '' : `; each includes ~${r.resumer.tsxLoaderMiB} MiB of the local service's tsx loader, which Lambda has not`}`,
      goal: `< ${r.settings.resumerMemoryMb} MB`,
      met: r.resumer.peakRssMiB * 1.048576 < Number(r.settings.resumerMemoryMb),
    },
    {
      figure: 'Lambda capacity: SQS requests',
      measured: `${r.sqs.total} (${r.sqs.perTask} per task): functions ${actions(r.sqs.byCaller.functions ?? {})}; event source ${actions(r.sqs.byCaller['event source'] ?? {})}; dead letters ${r.sqs.deadLetters}, left in queue ${r.sqs.leftInQueue}`,
      goal: 'informational; 0 dead letters',
      met: r.sqs.deadLetters === 0 ? null : false,
    },
    {
      figure: 'Lambda capacity: Kubernetes API requests',
      measured: `${actions(r.kube.requests)}; ${r.kube.tlsConnections} TLS connections accepted`,
      goal: 'informational',
      met: null,
    },
    {
      figure:
        'Lambda capacity: CPU (2-core machine: the local stack and proxy in one process, the sandboxes in theirs)',
      measured: `bench process ${r.cpu.benchPercentOfCore}% of a core, sandboxes ${r.cpu.sandboxesPercentOfCore}% over ${r.cpu.wallSeconds} s; load average up to ${r.cpu.maxLoadAverage}; other processes on the machine ${r.cpu.othersPercentOfCore}% (at most ${r.cpu.othersMaxPercentOfCore}% in a 15 s window); poller ${r.poller.invocations} invocations (${r.poller.ticksDropped} ticks dropped)`,
      goal: 'informational',
      met: null,
    },
  ];
  if (r.crash) {
    rows.push({
      figure: `Lambda capacity: one busy resumer sandbox SIGKILLed at ${r.crash.atS} s`,
      measured: `its invocation had carried ${r.crash.tasks} tasks: ${r.crash.succeeded} succeeded, longest gap among them ${r.crash.longestGapMs} ms`,
      goal: `all taken over: 0 failed, gap < ${heartbeatSeconds} s`,
      met:
        r.crash.requestId !== null &&
        r.crash.succeeded === r.crash.tasks &&
        r.crash.longestGapMs < heartbeatSeconds * 1000,
    });
  }
  return rows;
};
