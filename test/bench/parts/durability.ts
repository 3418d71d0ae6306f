/**
 * Durability (issue 18): waiting `runJob.sync` tasks outlive the worker processes that hold them.
 *
 * Three worker processes share a hand-off queue (`EKS_WORKER_HANDOFF_QUEUE_URL`, local SQS in
 * real seconds): each parks a `.sync` task in the queue once its Job exists, and every replica's
 * carrier receives parked tasks and carries their wait on (heartbeats, watch, answer) under a
 * lease (the message's visibility). 1,000 executions start together with Jobs that outlast the
 * whole disturbance; once every Job exists (and a quiet minute has measured the steady SQS
 * traffic), every replica is replaced the way a Deployment with `maxUnavailable: 0` does it (a
 * new replica polls, then one old replica gets SIGTERM and must exit within the Deployment's
 * `terminationGracePeriodSeconds`), and then one replica holding tasks is SIGKILLed (its leases
 * expire, the others take the messages).
 *
 * Figures: executions succeeded (0 failed is the goal), Jobs created per task (exactly 1: the
 * API server's `create Job` requests, and distinct Job UIDs per name), the longest time any task
 * went without a heartbeat reaching Step Functions (delivery -> first heartbeat, heartbeat ->
 * heartbeat, last heartbeat -> answer, merged over every replica's proxy because a task moves
 * between processes; must stay under `HeartbeatSeconds` 60), completion latency (Job end ->
 * SendTaskSuccess accepted), each stopping replica's exit time, outputs as an undisturbed run
 * gives them, and the SQS requests the queue adds (by action, per task, per task-hour, and a
 * month of 500 waiting tasks in requests and dollars).
 *
 * Every worker logs JSON (INFO) to `<logDir>/bench-worker-<n>.log`, and `<logDir>/tasks.json` holds
 * every task's path (delivery, each heartbeat and the answer, with the replica and the time in
 * seconds since the executions started); the result names the folder.
 * A task is `taskId` in those lines (sha256 of its token, 12 hex digits: lib/worker/task-runner.ts
 * makeTaskId) and its Job's name in `jobName`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localIdentities, localRegion } from '../../../infra/local-stack/identities.ts';
import { type LocalSqs, startSqs } from '../../../infra/local-stack/sqs/server.ts';
import { type BenchEnv, type BenchWorker, startBenchEnv } from '../bench-env.ts';
import { installKubeRequestCounter } from '../kube-request-counter.ts';
import { type MergedTask, mergeTaskViews } from '../sfn-recorder.ts';
import { percentile, runPool, type Summary, summarize } from '../stats.ts';
import { readCpuSeconds, type WorkerRunMode } from '../worker-process.ts';

const require = createRequire(import.meta.url);
const handOffQueueModule = require('../../../infra/serverless/hand-off-queue.cjs') as {
  describeHandOffQueue(options: { service: string; stage: string }): {
    Resources: Record<
      string,
      {
        Properties?: {
          VisibilityTimeout?: number;
          MessageRetentionPeriod?: number;
          RedrivePolicy?: { maxReceiveCount?: number };
        };
      }
    >;
  };
};

/**
 * Amazon SQS, Standard queue, US East (N. Virginia): $0.40 per million requests after the first
 * million of each month (free tier, per account); every 64 KiB chunk of a request's payload is
 * billed as one request, and a batch of up to 10 as one. Source: https://aws.amazon.com/sqs/pricing/
 * (as of 2026).
 */
export const sqsDollarsPerMillionRequests = 0.4;
const sqsFreeRequestsPerMonth = 1_000_000;
const hoursPerMonth = 730;
/** The month the extrapolation prices: this many tasks waiting all the time. */
const monthTasks = 500;

export interface DurabilityOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  /** @default 1000 */
  tasks?: number;
  /** How long every Job runs: longer than dispatch + steady window + rollout + kill. @default 240000 */
  jobRunMs?: number;
  /** Replicas (before and after the rollout). @default 3 */
  workers?: number;
  /** The quiet window that measures steady SQS traffic before the disturbance. @default 60000 */
  steadyMs?: number;
  /** Every n-th execution asks for its Job's logs. @default 10 */
  logsEvery?: number;
  /** Worker slots; unset: the worker's default. */
  maxConcurrentTasks?: number;
}

interface ReplicaReport {
  name: string;
  logFile: string | undefined;
  startedAtS: number;
  readyAtS: number | null;
  /** How it ended: 'SIGTERM' (rollout), 'SIGKILL' (the crash), 'bench end', or 'exited by itself'. */
  ended: string;
  /** SIGTERM (or SIGKILL) -> exit, ms. */
  exitMs: number | null;
  exitCode: number | string | null;
  /** Tasks it took from Step Functions (GetActivityTask). */
  tasksPolled: number;
  /** Distinct tasks it sent a heartbeat for. */
  tasksHeartbeated: number;
  /** Tasks it answered (first accepted answer). */
  tasksAnswered: number;
  /** For the SIGKILLed one: tasks that had a heartbeat through it in the last interval + 5 s. */
  heldWhenKilled?: number;
}

interface GapReport {
  ms: number;
  jobName: string;
  taskId: string;
  /** 'delivery', 'heartbeat', 'answer', or 'bench end' (no answer came). */
  from: string;
  to: string;
  fromReplica: string;
  toReplica: string;
  /** Seconds since the executions started, and wall-clock time as in the workers' log lines. */
  fromAtS: number;
  toAtS: number;
  fromAt: string;
  toAt: string;
}

export interface DurabilityResult {
  tasks: number;
  workers: number;
  jobRunMs: number;
  heartbeatIntervalMs: number;
  heartbeatSeconds: number;
  leaseSeconds: string;
  /** The hand-off queue's attributes (infra/serverless/hand-off-queue.cjs, as deployed). */
  queue: { VisibilityTimeout: number; MessageRetentionPeriod: number; maxReceiveCount: number };
  logDir: string;
  succeeded: number;
  failures: Record<string, number>;
  failureExamples: Record<string, string>;
  unanswered: number;
  /** Outputs that are not the task's own Job, Complete (and its logs when asked). */
  wrongOutputs: number;
  wrongOutputExamples: string[];
  takenTwice: number;
  answeredTwice: number;
  answerRetries: number;
  refusedHeartbeats: Record<string, number>;
  jobs: {
    /** `create Job` requests the API server received (warm-up excluded). */
    createRequests: number;
    createRequestsPerTask: number;
    /** Distinct Job UIDs per task name: exactly 1 each is the goal. */
    tasksWithOneJob: number;
    tasksWithNoJob: number;
    tasksWithMoreJobs: number;
    /** The API server's requests by kind during the run. */
    kubeRequests: Record<string, number>;
  };
  gaps: {
    /** Over every task: the longest stretch without a heartbeat reaching Step Functions. */
    longest: GapReport | null;
    /** Each task's longest gap. */
    perTaskMaxMs: { median: number; p99: number; max: number };
    tasksOver40s: number;
    tasksOver60s: number;
    /** The ten longest, for a look in the logs. */
    worst: GapReport[];
  };
  /** Job terminal condition -> SendTaskSuccess accepted. */
  completeToAcceptedMs: Summary;
  rollout: {
    graceSeconds: number;
    /** SIGTERM -> exit of each replaced replica, ms. */
    exitMs: (number | null)[];
    allWithinGrace: boolean;
    killed: string | null;
    heldByKilled: number;
  };
  replicas: ReplicaReport[];
  /** Every 15 s: the hand-off queue, and the tasks each live replica heartbeated in the last 25 s. */
  samples: {
    atS: number;
    visible: number;
    inFlight: number;
    held: Record<string, number>;
    /** CPU used in the last window: the bench process (every server) and each worker. */
    cpuPercent: Record<string, number>;
    benchLoopDelayMs: { p99: number; max: number };
    /** The machine's 1-minute load average (other work on a shared machine shows here). */
    loadAverage: number;
  }[];
  /** Seconds since the executions started. */
  timeline: Record<string, number>;
  disturbanceEndedBeforeFirstJobEnd: boolean;
  sqs: {
    queueUrl: string;
    byAction: Record<string, number>;
    byPhase: Record<string, { seconds: number; requests: Record<string, number> }>;
    total: number;
    perTask: number;
    taskHoursWaited: number;
    perTaskHour: number;
    steady: {
      seconds: number;
      carriedTasks: number;
      /** Lease renewals (ChangeMessageVisibility*) per carried task and hour. */
      renewalsPerTaskHour: number;
      /** ReceiveMessage per replica and hour, idle (nothing to receive). */
      receivesPerReplicaHour: number;
      /** Anything else per task-hour (0 expected). */
      otherPerTaskHour: number;
    };
    /** SendMessage*, DeleteMessage* (outside the rollout and the crash) per task: park and done. */
    lifecyclePerTask: number;
    /** What one rollout of every replica added, beyond the steady traffic, per carried task. */
    rolloutPerTask: number;
    messageBytes: { mean: number; max: number };
    leftInQueue: number;
    deadLetters: number;
    month: {
      tasks: number;
      hours: number;
      replicas: number;
      requests: number;
      dollars: number;
      dollarsAfterFreeTier: number;
      todayRequests: number;
      todayDollars: number;
      assumptions: string;
    };
  };
  wallSeconds: number;
}

interface JobOutput {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  status?: { conditions?: { type?: string; status?: string }[] };
  logs?: { pods?: Record<string, { containers?: Record<string, { log?: unknown }> }> };
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** A `performance.now()` time as ISO 8601, the workers' `timestamp` format. */
const wallClock = (ms: number): string => new Date(performance.timeOrigin + ms).toISOString();

const readDeploymentNumber = (field: string): number => {
  const text = readFileSync(join('deploy', 'kubernetes', 'deployment.yaml'), 'utf8');
  const match = new RegExp(`^\\s*${field}:\\s*(\\d+)\\s*$`, 'm').exec(text);
  if (!match) throw new Error(`deploy/kubernetes/deployment.yaml has no ${field}`);
  return Number(match[1]);
};

const isWorkerStarted = (line: string): boolean => {
  try {
    return (JSON.parse(line) as { message?: unknown }).message === 'Worker started';
  } catch {
    return false;
  }
};

const diffCounts = (
  after: ReadonlyMap<string, number>,
  before: ReadonlyMap<string, number>,
): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [action, n] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const d = n - (before.get(action) ?? 0);
    if (d > 0) out[action] = d;
  }
  return out;
};

const sum = (counts: Record<string, number>, match: (action: string) => boolean = () => true) =>
  Object.entries(counts)
    .filter(([action]) => match(action))
    .reduce((total, [, n]) => total + n, 0);

const round = (value: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** The container logs of a Job output, with the Job's own name replaced, pod names dropped. */
const logShape = (output: JobOutput, name: string): string[] =>
  Object.values(output.logs?.pods ?? {})
    .flatMap((pod) => Object.entries(pod.containers ?? {}))
    .map(([container, entry]) => `${container}: ${String(entry.log).replaceAll(name, '<job>')}`)
    .sort();

const topKeys = (output: JobOutput): string => Object.keys(output).sort().join(',');

export const runDurability = async (options: DurabilityOptions): Promise<DurabilityResult> => {
  const tasks = options.tasks ?? 1_000;
  const jobRunMs = options.jobRunMs ?? 240_000;
  const workerCount = options.workers ?? 3;
  const steadyMs = options.steadyMs ?? 60_000;
  const logsEvery = options.logsEvery ?? 10;
  const heartbeatIntervalMs = 20_000;
  const heartbeatSeconds = 60;
  const graceSeconds = readDeploymentNumber('terminationGracePeriodSeconds');
  const deploymentReplicas = readDeploymentNumber('replicas');
  const logDir = mkdtempSync(join(tmpdir(), 'eks-worker-durability-'));
  console.log(`  worker logs: ${logDir}`);

  // SQS in real seconds, as the leases, visibility timeouts and long polls count them.
  const sqs: LocalSqs = await startSqs({ secondMs: 1000 });
  const sqsClient = new SQSClient({
    endpoint: sqs.endpoint,
    region: localRegion,
    credentials: {
      accessKeyId: localIdentities.admin.accessKeyId,
      secretAccessKey: localIdentities.admin.secretAccessKey,
    },
  });
  const run = `durability-${Date.now().toString(36)}`;
  // The queues exactly as both stacks deploy them (serverless.process.yml includes this file).
  const { Resources } = handOffQueueModule.describeHandOffQueue({ service: 'bench', stage: run });
  const queueProperties = Resources.HandOffQueue?.Properties ?? {};
  const dlqProperties = Resources.HandOffDeadLetterQueue?.Properties ?? {};
  const queueAttributes = {
    VisibilityTimeout: Number(queueProperties.VisibilityTimeout),
    MessageRetentionPeriod: Number(queueProperties.MessageRetentionPeriod),
    maxReceiveCount: Number(queueProperties.RedrivePolicy?.maxReceiveCount),
  };
  const { QueueUrl: deadLetterUrl } = await sqsClient.send(
    new CreateQueueCommand({
      QueueName: `${run}-dlq`,
      Attributes: { MessageRetentionPeriod: String(dlqProperties.MessageRetentionPeriod) },
    }),
  );
  const { Attributes: dlqAttributes } = await sqsClient.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
  );
  const { QueueUrl: queueUrl } = await sqsClient.send(
    new CreateQueueCommand({
      QueueName: `${run}-handoff`,
      Attributes: {
        VisibilityTimeout: String(queueAttributes.VisibilityTimeout),
        MessageRetentionPeriod: String(queueAttributes.MessageRetentionPeriod),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttributes?.QueueArn,
          maxReceiveCount: queueAttributes.maxReceiveCount,
        }),
      },
    }),
  );
  if (!queueUrl || !deadLetterUrl) throw new Error('CreateQueue gave no URL');

  const kubeCounter = installKubeRequestCounter();
  let env: BenchEnv | undefined;
  let closing = false;
  const stopSampling = new AbortController();
  try {
    env = await startBenchEnv({
      mode: options.mode,
      ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
      heartbeatIntervalMs,
      heartbeatSeconds,
      // Overridden below (undefined: the worker's default); BenchEnvOptions wants numbers.
      maxConcurrentTasks: options.maxConcurrentTasks ?? 0,
      pollersPerActivity: 0,
      // Shorter held polls than AWS's 60 s: stopping replicas exit sooner; not the point here.
      longPollHoldMs: 5_000,
      workers: workerCount,
      logDir,
      recordForeign: true,
      workerEnv: {
        EKS_WORKER_HANDOFF_QUEUE_URL: queueUrl,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
        EKS_WORKER_MAX_CONCURRENT_TASKS:
          options.maxConcurrentTasks === undefined ? undefined : String(options.maxConcurrentTasks),
        EKS_WORKER_POLLERS_PER_ACTIVITY: undefined,
        EKS_WORKER_SHUTDOWN_GRACE_MS: undefined,
        EKS_WORKER_LOG_LEVEL: undefined,
      },
    });
    const benchEnv = env;
    const { workers } = benchEnv;
    const replicaInfo = new Map<BenchWorker, ReplicaReport>();
    const runStartMs = performance.now();
    const at = (ms = performance.now()) => seconds(ms - runStartMs);
    const timeline: Record<string, number> = {};
    const mark = (event: string) => {
      timeline[event] = at();
      console.log(`  ${String(timeline[event]).padStart(6)} s: ${event}`);
    };
    const track = (worker: BenchWorker, startedMs: number) => {
      const report: ReplicaReport = {
        name: worker.name,
        logFile: worker.logFile,
        startedAtS: at(startedMs),
        readyAtS: null,
        ended: 'bench end',
        exitMs: null,
        exitCode: null,
        tasksPolled: 0,
        tasksHeartbeated: 0,
        tasksAnswered: 0,
      };
      replicaInfo.set(worker, report);
      void worker.worker.exited.then((code) => {
        report.exitCode = code;
        if (report.ended === 'bench end' && !closing) {
          report.ended = 'exited by itself';
          console.error(`  ${at()} s: ${worker.name} exited by itself (${code})`);
        }
      });
      return report;
    };
    for (const worker of workers) track(worker, runStartMs);
    await Promise.all(
      workers.map(async (worker) => {
        await worker.worker.waitForLine(isWorkerStarted, 60_000);
        const report = replicaInfo.get(worker);
        if (report) report.readyAtS = at();
      }),
    );

    // Job UIDs per name: a Job created twice (even after a delete) shows as two.
    const jobUids = new Map<string, Set<string>>();
    const unsubscribe = benchEnv.stack.cluster.store.subscribe((event) => {
      if (event.resource.resource !== 'jobs' || event.type !== 'ADDED') return;
      const { name, uid } = event.object.metadata;
      if (name === undefined) return;
      const uids = jobUids.get(name) ?? new Set<string>();
      uids.add(String(uid));
      jobUids.set(name, uids);
    });

    // Reference outputs from runs nobody disturbs, with and without logs.
    const prefix = `dur${Date.now().toString(36)}`;
    const scriptFor = (name: string, durationMs: number) => ({
      durationMs,
      log: { lines: [`hello from ${name}`, 'done'] },
    });
    const reference = new Map<boolean, { keys: string; logs: string[] }>();
    for (const withLogs of [false, true]) {
      const name = `${prefix}-reference-${withLogs ? 'logs' : 'nologs'}`;
      const arn = await benchEnv.startJob({
        name,
        script: scriptFor(name, 500),
        retrieveLogs: withLogs,
      });
      const execution = await benchEnv.waitForExecution(arn, 60_000);
      if (execution.status !== 'SUCCEEDED') {
        throw new Error(
          `reference execution ${name}: ${execution.status} ${execution.error} ${execution.cause}`,
        );
      }
      const output = JSON.parse(execution.output ?? '{}') as JobOutput;
      reference.set(withLogs, { keys: topKeys(output), logs: logShape(output, name) });
    }

    // The run proper.
    kubeCounter.reset();
    const countsAt = new Map<string, Map<string, number>>();
    const snapshot = (phase: string) => countsAt.set(phase, new Map(sqs.requestCounts));
    const phaseStartMs = new Map<string, number>();
    const beginPhase = (phase: string) => {
      snapshot(phase);
      phaseStartMs.set(phase, performance.now());
    };
    const phases = ['dispatch', 'steady', 'rollout', 'crash', 'finish'] as const;
    const names = Array.from({ length: tasks }, (_, i) => `${prefix}-${i}`);
    const asksLogs = (index: number) => index % logsEvery === 0;
    const heldBy = (worker: BenchWorker): number => {
      const since = performance.now() - heartbeatIntervalMs - 5_000;
      let held = 0;
      for (const view of [...worker.recorder.tasks.values(), ...worker.recorder.foreign.values()]) {
        if (view.answeredAtMs !== undefined) continue;
        const last = view.heartbeatsAtMs.at(-1);
        if (last !== undefined && last >= since) held += 1;
      }
      return held;
    };
    // Every 15 s: the queue, and how many tasks each live replica heartbeats (= carries).
    const samples: DurabilityResult['samples'] = [];
    // The bench process hosts every server (Step Functions, the API server, SQS, the proxies): if
    // its event loop stalls, requests stall with it and the figures would blame the workers.
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const cpuAt = new Map<number, number>();
    let benchCpu = process.cpuUsage();
    let sampledAtMs = performance.now();
    const sampler = (async () => {
      for (;;) {
        try {
          await sleep(15_000, undefined, { signal: stopSampling.signal });
        } catch {
          return;
        }
        const queue = sqs.inspect.queue(queueUrl);
        const held: Record<string, number> = {};
        for (const worker of benchEnv.workers) {
          if (worker.worker.child.exitCode === null && worker.worker.child.signalCode === null) {
            held[worker.name] = heldBy(worker);
          }
        }
        const windowS = (performance.now() - sampledAtMs) / 1000;
        sampledAtMs = performance.now();
        const cpuPercent: Record<string, number> = {};
        const benchUsed = process.cpuUsage(benchCpu);
        benchCpu = process.cpuUsage();
        cpuPercent.bench = Math.round((benchUsed.user + benchUsed.system) / 1e4 / windowS);
        for (const worker of benchEnv.workers) {
          const now = readCpuSeconds(worker.worker.pid);
          if (Number.isNaN(now)) continue;
          const before = cpuAt.get(worker.worker.pid) ?? 0;
          cpuAt.set(worker.worker.pid, now);
          cpuPercent[worker.name] = Math.round(((now - before) / windowS) * 100);
        }
        const sample = {
          atS: at(),
          visible: queue?.visible.length ?? 0,
          inFlight: queue?.inFlight.length ?? 0,
          held,
          cpuPercent,
          benchLoopDelayMs: {
            p99: Math.round(loopDelay.percentile(99) / 1e6),
            max: Math.round(loopDelay.max / 1e6),
          },
          loadAverage: round(loadavg()[0] ?? 0),
        };
        loopDelay.reset();
        samples.push(sample);
        console.log(
          `  ${String(sample.atS).padStart(6)} s: queue ${sample.visible} visible, ${sample.inFlight} in flight; heartbeating: ${Object.entries(
            held,
          )
            .map(([name, n]) => `${name} ${n}`)
            .join(', ')}; CPU % ${Object.entries(cpuPercent)
            .map(([name, n]) => `${name.replace('bench-worker-', 'w')} ${n}`)
            .join(
              ', ',
            )}; bench loop delay p99 ${sample.benchLoopDelayMs.p99} ms, max ${sample.benchLoopDelayMs.max} ms; load ${sample.loadAverage}`,
        );
      }
    })();
    beginPhase('dispatch');
    mark('executions starting');
    const arns = await runPool(names, 25, (name, index) =>
      benchEnv.startJob({
        name,
        script: scriptFor(name, jobRunMs),
        retrieveLogs: asksLogs(index),
      }),
    );
    mark('executions started');
    const waitFor = async (what: string, done: () => boolean, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (!done()) {
        if (performance.now() > deadline) {
          console.error(`  ${at()} s: gave up waiting (${timeoutMs} ms) for ${what}`);
          return false;
        }
        await sleep(250);
      }
      return true;
    };
    // A task that failed before its Job existed never gets one: wait for a Job or an answer.
    const settledOrCreated = () => {
      if (jobUids.size >= tasks + 2) return true;
      const views = mergeTaskViews(workers.map((w) => w.recorder));
      return names.every(
        (n) => jobUids.has(n) || (views.get(n) ?? []).some((t) => t.answeredAtMs !== undefined),
      );
    };
    await waitFor('every Job to exist', settledOrCreated, 180_000);
    mark(`${names.filter((n) => jobUids.has(n)).length} Jobs exist`);
    const carried = () => sqs.inspect.queue(queueUrl)?.inFlight.length ?? 0;
    await waitFor(
      `${tasks} tasks carried (in flight in the queue)`,
      () => carried() >= tasks,
      30_000,
    );
    mark(`${carried()} tasks carried`);

    // Steady: all waiting, nobody moving.
    beginPhase('steady');
    const carriedAtSteadyStart = carried();
    const bodies =
      sqs.inspect.queue(queueUrl)?.inFlight.map((m) => Buffer.byteLength(m.body)) ?? [];
    await sleep(steadyMs);
    const carriedAtSteadyEnd = carried();
    mark('steady window over');

    // The rollout: maxSurge 1, maxUnavailable 0.
    beginPhase('rollout');
    const old = [...workers];
    for (const replaced of old) {
      const startedMs = performance.now();
      const fresh = await benchEnv.addWorker();
      const report = track(fresh, startedMs);
      await fresh.worker.waitForLine(isWorkerStarted, 60_000);
      report.readyAtS = at();
      const oldReport = replicaInfo.get(replaced);
      if (!oldReport) continue;
      oldReport.ended = 'SIGTERM';
      const signalledMs = performance.now();
      replaced.worker.child.kill('SIGTERM');
      mark(`${fresh.name} polling; SIGTERM to ${replaced.name}`);
      const exited = await Promise.race([
        replaced.worker.exited.then(() => true),
        sleep(graceSeconds * 1000).then(() => false),
      ]);
      if (!exited) {
        // The kubelet's move at the end of terminationGracePeriodSeconds.
        replaced.worker.child.kill('SIGKILL');
        await replaced.worker.exited;
        console.error(`  ${replaced.name} did not exit within ${graceSeconds} s: SIGKILLed`);
      }
      oldReport.exitMs = Math.round(performance.now() - signalledMs);
      mark(`${replaced.name} exited after ${oldReport.exitMs} ms (${oldReport.exitCode})`);
    }

    // The crash: a replica holding tasks dies without a word.
    beginPhase('crash');
    await sleep(heartbeatIntervalMs + 5_000);
    const live = workers.filter(
      (w) => w.worker.child.exitCode === null && w.worker.child.signalCode === null,
    );
    const holdings = live.map((worker) => ({ worker, held: heldBy(worker) }));
    console.log(
      `  holding (heartbeat in the last ${(heartbeatIntervalMs + 5_000) / 1000} s): ${holdings
        .map((h) => `${h.worker.name} ${h.held}`)
        .join(', ')}`,
    );
    const victim = holdings.sort((a, b) => b.held - a.held)[0];
    let killedAtS: number | undefined;
    if (victim) {
      const report = replicaInfo.get(victim.worker);
      if (report) {
        report.ended = 'SIGKILL';
        report.heldWhenKilled = victim.held;
      }
      const killedMs = performance.now();
      killedAtS = at(killedMs);
      victim.worker.worker.child.kill('SIGKILL');
      await victim.worker.worker.exited;
      if (report) report.exitMs = Math.round(performance.now() - killedMs);
      mark(`SIGKILL to ${victim.worker.name} (holding ${victim.held})`);
    }

    // Until every execution has its answer, or cannot get one any more.
    let merged = mergeTaskViews(workers.map((w) => w.recorder));
    const answered = (name: string) =>
      (merged.get(name) ?? []).some((task) => task.acceptedAnswers > 0);
    let firstJobEndMs: number | undefined;
    const endDeadline = performance.now() + jobRunMs + 240_000;
    let finishBegun = false;
    for (;;) {
      merged = mergeTaskViews(workers.map((w) => w.recorder));
      if (firstJobEndMs === undefined) {
        const ends = names.map((n) => benchEnv.jobEndedAtMs.get(n)).filter((t) => t !== undefined);
        if (ends.length > 0) {
          firstJobEndMs = Math.min(...ends);
          timeline['first Job ended'] = at(firstJobEndMs);
          beginPhase('finish');
          finishBegun = true;
        }
      }
      const pending = names.filter((n) => !answered(n));
      if (pending.length === 0) break;
      const ended = names.filter((n) => benchEnv.jobEndedAtMs.has(n)).length;
      const lastEnd =
        ended === tasks
          ? Math.max(...names.map((n) => benchEnv.jobEndedAtMs.get(n) ?? 0))
          : undefined;
      // Past the last Job's end by more than HeartbeatSeconds + a margin: nothing more will come.
      if (lastEnd !== undefined && performance.now() - lastEnd > (heartbeatSeconds + 30) * 1000) {
        console.error(
          `  ${at()} s: ${pending.length} tasks unanswered ${heartbeatSeconds + 30} s after the last Job ended`,
        );
        break;
      }
      if (performance.now() > endDeadline) {
        console.error(`  ${at()} s: ${pending.length} tasks unanswered at the deadline`);
        break;
      }
      await sleep(1_000);
    }
    if (!finishBegun) beginPhase('finish');
    const endMs = performance.now();
    snapshot('end');
    stopSampling.abort();
    await sampler;
    loopDelay.disable();
    mark('every execution answered (or given up)');
    const lastJobEnd = Math.max(0, ...names.map((n) => benchEnv.jobEndedAtMs.get(n) ?? 0));
    if (lastJobEnd > 0) timeline['last Job ended'] = at(lastJobEnd);

    // Executions.
    const described = await runPool(arns, 25, (arn) =>
      benchEnv.waitForExecution(arn, 90_000).catch(
        () =>
          ({ status: 'RUNNING' }) as {
            status: string;
            error?: string;
            cause?: string;
            output?: string;
          },
      ),
    );
    const failures: Record<string, number> = {};
    const failureExamples: Record<string, string> = {};
    let wrongOutputs = 0;
    const wrongOutputExamples: string[] = [];
    described.forEach((execution, index) => {
      const name = names[index] as string;
      if (execution.status !== 'SUCCEEDED') {
        const key = `${execution.status}:${execution.error ?? ''}`;
        failures[key] = (failures[key] ?? 0) + 1;
        failureExamples[key] ??= `${name}: ${(execution.cause ?? '').slice(0, 400)}`;
        return;
      }
      const output = JSON.parse(execution.output ?? '{}') as JobOutput;
      const complete = output.status?.conditions?.some(
        (c) => c.type === 'Complete' && c.status === 'True',
      );
      const expected = reference.get(asksLogs(index));
      const problems: string[] = [];
      if (output.metadata?.name !== name) problems.push(`Job ${output.metadata?.name}`);
      if (!complete) problems.push('not Complete');
      if (expected && topKeys(output) !== expected.keys) problems.push(`keys ${topKeys(output)}`);
      if (expected && logShape(output, name).join('\n') !== expected.logs.join('\n')) {
        problems.push(`logs ${JSON.stringify(logShape(output, name)).slice(0, 200)}`);
      }
      if (problems.length > 0) {
        wrongOutputs += 1;
        if (wrongOutputExamples.length < 5)
          wrongOutputExamples.push(`${name}: ${problems.join('; ')}`);
      }
    });

    // Tasks across replicas.
    const replicaName = (index: number) => workers[index]?.name ?? `#${index}`;
    const gapsPerTask: number[] = [];
    const allGaps: GapReport[] = [];
    let takenTwice = 0;
    let answeredTwice = 0;
    let answerRetries = 0;
    let unanswered = 0;
    const refusedHeartbeats: Record<string, number> = {};
    const completeToAccepted: number[] = [];
    for (const name of names) {
      const views: MergedTask[] = merged.get(name) ?? [];
      if (views.length > 1) takenTwice += 1;
      const task = views[0];
      if (!task) {
        unanswered += 1;
        continue;
      }
      const accepted = views.reduce((n, v) => n + v.acceptedAnswers, 0);
      if (accepted > 1) answeredTwice += 1;
      if (accepted === 0) unanswered += 1;
      answerRetries += views.reduce((n, v) => n + v.answers - v.acceptedAnswers, 0);
      for (const refused of task.refusedHeartbeats) {
        refusedHeartbeats[refused.type] = (refusedHeartbeats[refused.type] ?? 0) + 1;
      }
      const points: { atMs: number; what: string; by: number }[] = [
        { atMs: task.deliveredAtMs, what: 'delivery', by: task.deliveredBy },
        ...task.heartbeats.map((h) => ({ atMs: h.atMs, what: 'heartbeat', by: h.by })),
      ];
      if (task.answeredAtMs !== undefined) {
        points.push({ atMs: task.answeredAtMs, what: 'answer', by: task.answeredBy ?? -1 });
      } else {
        points.push({ atMs: endMs, what: 'bench end', by: -1 });
      }
      let worst = 0;
      for (let i = 1; i < points.length; i += 1) {
        const from = points[i - 1] as (typeof points)[number];
        const to = points[i] as (typeof points)[number];
        const ms = to.atMs - from.atMs;
        worst = Math.max(worst, ms);
        if (ms > 30_000) {
          allGaps.push({
            ms: Math.round(ms),
            jobName: name,
            taskId: task.taskId,
            from: from.what,
            to: to.what,
            fromReplica: from.by < 0 ? '-' : replicaName(from.by),
            toReplica: to.by < 0 ? '-' : replicaName(to.by),
            fromAtS: at(from.atMs),
            toAtS: at(to.atMs),
            fromAt: wallClock(from.atMs),
            toAt: wallClock(to.atMs),
          });
        }
      }
      gapsPerTask.push(worst);
      const ended = benchEnv.jobEndedAtMs.get(name);
      if (ended !== undefined && task.acceptedAtMs !== undefined) {
        completeToAccepted.push(task.acceptedAtMs - ended);
      }
    }
    allGaps.sort((a, b) => b.ms - a.ms);
    // Every task's path through the replicas, for a closer look (seconds since the start).
    writeFileSync(
      join(logDir, 'tasks.json'),
      JSON.stringify(
        names.map((name) => ({
          jobName: name,
          jobEndedAtS:
            benchEnv.jobEndedAtMs.get(name) === undefined
              ? null
              : at(benchEnv.jobEndedAtMs.get(name)),
          deliveries: (merged.get(name) ?? []).map((task) => ({
            taskId: task.taskId,
            deliveredAtS: at(task.deliveredAtMs),
            deliveredBy: replicaName(task.deliveredBy),
            heartbeats: task.heartbeats.map((h) => [at(h.atMs), replicaName(h.by)]),
            refusedHeartbeats: task.refusedHeartbeats.map((h) => [
              at(h.atMs),
              replicaName(h.by),
              h.type,
            ]),
            answeredAtS: task.answeredAtMs === undefined ? null : at(task.answeredAtMs),
            answeredBy: task.answeredBy === undefined ? null : replicaName(task.answeredBy),
            acceptedAtS: task.acceptedAtMs === undefined ? null : at(task.acceptedAtMs),
            answer: task.answer ?? null,
          })),
        })),
      ),
    );
    for (const [index, worker] of workers.entries()) {
      const report = replicaInfo.get(worker);
      if (!report) continue;
      report.tasksPolled = [...worker.recorder.tasks.values()].filter(
        (t) => t.jobName?.startsWith(`${prefix}-`) && !t.jobName.includes('reference'),
      ).length;
      let heartbeated = 0;
      let answeredBy = 0;
      for (const name of names) {
        for (const view of merged.get(name) ?? []) {
          if (view.heartbeats.some((h) => h.by === index)) heartbeated += 1;
          if (view.acceptedBy === index) answeredBy += 1;
        }
      }
      report.tasksHeartbeated = heartbeated;
      report.tasksAnswered = answeredBy;
    }

    // Jobs.
    const kubeRequests = kubeCounter.counts();
    const createRequests = kubeRequests['create Job'] ?? 0;
    const uidCounts = names.map((n) => jobUids.get(n)?.size ?? 0);

    // SQS.
    const countsEnd = countsAt.get('end') ?? new Map();
    const byPhase: DurabilityResult['sqs']['byPhase'] = {};
    const phaseOrder = [...phases, 'end'];
    for (let i = 0; i < phases.length; i += 1) {
      const phase = phases[i] as string;
      const next = phaseOrder[i + 1] as string;
      const from = countsAt.get(phase);
      const to = countsAt.get(next) ?? countsEnd;
      const startMs = phaseStartMs.get(phase);
      const stopMs = phaseStartMs.get(next) ?? endMs;
      if (!from || startMs === undefined) continue;
      byPhase[phase] = { seconds: seconds(stopMs - startMs), requests: diffCounts(to, from) };
    }
    const byAction = diffCounts(countsEnd, countsAt.get('dispatch') ?? new Map());
    const total = sum(byAction);
    const taskHoursWaited = names.reduce((hours, name) => {
      const task = merged.get(name)?.[0];
      if (!task) return hours;
      return hours + ((task.answeredAtMs ?? endMs) - task.deliveredAtMs) / 3_600_000;
    }, 0);
    const steady = byPhase.steady ?? { seconds: 0, requests: {} };
    const steadyHours = steady.seconds / 3600;
    const steadyCarried = (carriedAtSteadyStart + carriedAtSteadyEnd) / 2;
    const isRenewal = (action: string) => action.startsWith('ChangeMessageVisibility');
    const renewalsPerTaskHour =
      steadyHours > 0 && steadyCarried > 0
        ? sum(steady.requests, isRenewal) / steadyCarried / steadyHours
        : 0;
    const receivesPerReplicaHour =
      steadyHours > 0
        ? sum(steady.requests, (a) => a === 'ReceiveMessage') / workerCount / steadyHours
        : 0;
    const otherPerTaskHour =
      steadyHours > 0 && steadyCarried > 0
        ? sum(steady.requests, (a) => !isRenewal(a) && a !== 'ReceiveMessage') /
          steadyCarried /
          steadyHours
        : 0;
    const lifecycleActions = (a: string) =>
      a.startsWith('SendMessage') || a.startsWith('DeleteMessage');
    const lifecycle =
      sum(byPhase.dispatch?.requests ?? {}, lifecycleActions) +
      sum(byPhase.steady?.requests ?? {}, lifecycleActions) +
      sum(byPhase.finish?.requests ?? {}, lifecycleActions);
    const rollout = byPhase.rollout ?? { seconds: 0, requests: {} };
    const rolloutExpected =
      (rollout.seconds / 3600) *
      (renewalsPerTaskHour * steadyCarried +
        receivesPerReplicaHour * workerCount +
        otherPerTaskHour * steadyCarried);
    const rolloutPerTask =
      steadyCarried > 0 ? (sum(rollout.requests) - rolloutExpected) / steadyCarried : 0;
    const lifecyclePerTask = lifecycle / tasks;
    const monthRequests =
      monthTasks * hoursPerMonth * (renewalsPerTaskHour + otherPerTaskHour) +
      deploymentReplicas * hoursPerMonth * receivesPerReplicaHour +
      monthTasks * lifecyclePerTask;
    const queueNow = sqs.inspect.queue(queueUrl);

    unsubscribe();
    const stopped = replicaInfo;
    const replaced = old.map((w) => stopped.get(w)?.exitMs ?? null);
    const killed = [...replicaInfo.values()].find((r) => r.ended === 'SIGKILL');
    // The crash is over once the killed replica's leases have expired (the default lease: 30 s).
    const disturbanceEndS = (killedAtS ?? at(endMs)) + 30;
    return {
      tasks,
      workers: workerCount,
      jobRunMs,
      heartbeatIntervalMs,
      heartbeatSeconds,
      leaseSeconds: 'worker default (30)',
      queue: queueAttributes,
      logDir,
      succeeded: described.filter((e) => e.status === 'SUCCEEDED').length,
      failures,
      failureExamples,
      unanswered,
      wrongOutputs,
      wrongOutputExamples,
      takenTwice,
      answeredTwice,
      answerRetries,
      refusedHeartbeats,
      jobs: {
        createRequests,
        createRequestsPerTask: round(createRequests / tasks, 3),
        tasksWithOneJob: uidCounts.filter((n) => n === 1).length,
        tasksWithNoJob: uidCounts.filter((n) => n === 0).length,
        tasksWithMoreJobs: uidCounts.filter((n) => n > 1).length,
        kubeRequests,
      },
      gaps: {
        longest: allGaps[0] ?? null,
        perTaskMaxMs: {
          median: Math.round(percentile(gapsPerTask, 50)),
          p99: Math.round(percentile(gapsPerTask, 99)),
          max: Math.round(percentile(gapsPerTask, 100)),
        },
        tasksOver40s: gapsPerTask.filter((g) => g > 40_000).length,
        tasksOver60s: gapsPerTask.filter((g) => g > 60_000).length,
        worst: allGaps.slice(0, 10),
      },
      completeToAcceptedMs: summarize(completeToAccepted),
      rollout: {
        graceSeconds,
        exitMs: replaced,
        allWithinGrace: replaced.every((ms) => ms !== null && ms < graceSeconds * 1000),
        killed: killed?.name ?? null,
        heldByKilled: killed?.heldWhenKilled ?? 0,
      },
      replicas: [...replicaInfo.values()],
      samples,
      timeline,
      disturbanceEndedBeforeFirstJobEnd:
        timeline['first Job ended'] !== undefined && disturbanceEndS < timeline['first Job ended'],
      sqs: {
        queueUrl,
        byAction,
        byPhase,
        total,
        perTask: round(total / tasks, 2),
        taskHoursWaited: round(taskHoursWaited, 2),
        perTaskHour: taskHoursWaited > 0 ? round(total / taskHoursWaited) : 0,
        steady: {
          seconds: steady.seconds,
          carriedTasks: steadyCarried,
          renewalsPerTaskHour: round(renewalsPerTaskHour),
          receivesPerReplicaHour: round(receivesPerReplicaHour),
          otherPerTaskHour: round(otherPerTaskHour, 2),
        },
        lifecyclePerTask: round(lifecyclePerTask, 2),
        rolloutPerTask: round(rolloutPerTask, 2),
        messageBytes: {
          mean:
            bodies.length > 0 ? Math.round(bodies.reduce((a, b) => a + b, 0) / bodies.length) : 0,
          max: bodies.length > 0 ? Math.max(...bodies) : 0,
        },
        leftInQueue:
          (queueNow?.visible.length ?? 0) +
          (queueNow?.inFlight.length ?? 0) +
          (queueNow?.delayed.length ?? 0),
        deadLetters: sqs.inspect.deadLetters(queueUrl).length,
        month: {
          tasks: monthTasks,
          hours: hoursPerMonth,
          replicas: deploymentReplicas,
          requests: Math.round(monthRequests),
          dollars: round((monthRequests / 1e6) * sqsDollarsPerMillionRequests, 2),
          dollarsAfterFreeTier: round(
            (Math.max(0, monthRequests - sqsFreeRequestsPerMonth) / 1e6) *
              sqsDollarsPerMillionRequests,
            2,
          ),
          todayRequests: 0,
          todayDollars: 0,
          assumptions: `${monthTasks} tasks waiting for ${hoursPerMonth} h at the steady renewal rate per task-hour, ${deploymentReplicas} replicas (deploy/kubernetes/deployment.yaml) each at the steady idle-receive rate, plus each task's park/delete requests once; no rollout or crash; messages under 64 KiB; $${sqsDollarsPerMillionRequests} per million (Standard queue, us-east-1)`,
        },
      },
      wallSeconds: at(endMs),
    };
  } finally {
    closing = true;
    stopSampling.abort();
    kubeCounter.uninstall();
    if (env) {
      await env.close();
    }
    sqsClient.destroy();
    await sqs.close();
  }
};

/** The summary rows of the run-bench table. */
export const durabilitySummary = (
  r: DurabilityResult,
): { figure: string; measured: string; goal: string; met: boolean | null }[] => {
  const failed = r.tasks - r.succeeded;
  const longest = r.gaps.longest;
  const s = r.sqs;
  const actions = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([action, n]) => `${action} ${n}`)
      .join(', ');
  return [
    {
      figure: `Durability: ${r.tasks} runJob.sync executions (${r.jobRunMs / 1000} s Jobs) while ${r.rollout.exitMs.length} of ${r.workers} processes are replaced (SIGTERM) and one is SIGKILLed`,
      measured: `${r.succeeded}/${r.tasks} succeeded${failed > 0 ? `, failed ${JSON.stringify(r.failures)}` : ''}; ${r.wrongOutputs} outputs unlike an undisturbed run's; ${r.unanswered} unanswered, ${r.takenTwice} taken twice, ${r.answeredTwice} answered twice${r.disturbanceEndedBeforeFirstJobEnd ? '' : ' (the disturbance outlasted the first Job: raise --job-run-ms)'}`,
      goal: '0 failed; each output its own Job, Complete, with its logs when asked',
      met:
        r.succeeded === r.tasks &&
        r.wrongOutputs === 0 &&
        r.answeredTwice === 0 &&
        r.disturbanceEndedBeforeFirstJobEnd,
    },
    {
      figure: 'Durability: Jobs created per task',
      measured: `${r.jobs.createRequestsPerTask} 'create Job' requests per task (${r.jobs.createRequests}); Job UIDs per task: exactly 1 for ${r.jobs.tasksWithOneJob}, none for ${r.jobs.tasksWithNoJob}, more for ${r.jobs.tasksWithMoreJobs}`,
      goal: 'exactly 1',
      met: r.jobs.createRequests === r.tasks && r.jobs.tasksWithOneJob === r.tasks,
    },
    {
      figure: `Durability: longest time a task went without a heartbeat (interval ${r.heartbeatIntervalMs / 1000} s, HeartbeatSeconds ${r.heartbeatSeconds}; all replicas merged)`,
      measured: longest
        ? `${longest.ms} ms (${longest.jobName}, taskId ${longest.taskId}: ${longest.from} by ${longest.fromReplica} at ${longest.fromAtS} s -> ${longest.to} by ${longest.toReplica} at ${longest.toAtS} s); per task median ${r.gaps.perTaskMaxMs.median} ms, p99 ${r.gaps.perTaskMaxMs.p99} ms; ${r.gaps.tasksOver40s} tasks over 40 s, ${r.gaps.tasksOver60s} over 60 s`
        : `none over 30 s (per task median ${r.gaps.perTaskMaxMs.median} ms, max ${r.gaps.perTaskMaxMs.max} ms)`,
      goal: `< ${r.heartbeatSeconds} s`,
      met: r.gaps.perTaskMaxMs.max < r.heartbeatSeconds * 1000 && r.unanswered === 0,
    },
    {
      figure: `Durability: Job terminal condition -> SendTaskSuccess accepted (${r.completeToAcceptedMs.count} tasks)`,
      measured: `p50 ${r.completeToAcceptedMs.medianMs} ms, p99 ${r.completeToAcceptedMs.p99Ms} ms, max ${r.completeToAcceptedMs.maxMs} ms`,
      goal: 'p99 < 1000 ms',
      met: r.completeToAcceptedMs.count === r.tasks && r.completeToAcceptedMs.p99Ms < 1000,
    },
    {
      figure: `Durability: SIGTERM -> exit of each replaced process (terminationGracePeriodSeconds ${r.rollout.graceSeconds})`,
      measured: `${r.rollout.exitMs.map((ms) => (ms === null ? 'never' : `${ms} ms`)).join(', ')}; then SIGKILL to ${r.rollout.killed ?? 'nobody'} holding ${r.rollout.heldByKilled} tasks`,
      goal: `each < ${r.rollout.graceSeconds} s`,
      met: r.rollout.allWithinGrace,
    },
    {
      figure: `Durability: SQS requests the hand-off queue adds (today's process mode: ${s.month.todayRequests})`,
      measured: `${s.total} (${actions(s.byAction)}): ${s.perTask} per task, ${s.perTaskHour} per task-hour over ${s.taskHoursWaited} task-hours waited; steady: ${s.steady.renewalsPerTaskHour} lease renewals per task-hour, ${s.steady.receivesPerReplicaHour} receives per replica-hour; park/delete ${s.lifecyclePerTask} per task; one rollout +${s.rolloutPerTask} per task; left in queue ${s.leftInQueue}, dead letters ${s.deadLetters}`,
      goal: 'informational',
      met: null,
    },
    {
      figure: `Durability: a month of ${s.month.tasks} tasks waiting (${s.month.hours} h, ${s.month.replicas} replicas), at $${sqsDollarsPerMillionRequests} per million SQS requests`,
      measured: `${s.month.requests.toLocaleString('en-US')} requests: $${s.month.dollars} ($${s.month.dollarsAfterFreeTier} after the free million); today: ${s.month.todayRequests} requests, $${s.month.todayDollars}`,
      goal: 'informational',
      met: null,
    },
  ];
};
