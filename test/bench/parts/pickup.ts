/**
 * Pickup: from `ActivityScheduled` (the `TaskScheduled` of a native integration) to
 * `ActivityStarted` (a worker holds the task), read from the execution histories, which the local
 * Step Functions stamps in milliseconds. One worker process at the DEFAULT configuration serves
 * all 15 activities; long polls are held 60 s, as AWS holds them.
 *
 * - idle: executions over the 15 activities arrive at random (exponential gaps), nothing else runs;
 * - load: the same, with 80 % of the slots held by runJob.sync tasks waiting on hour-long Jobs;
 * - burst: 1,000 eks:call tasks queued before a fresh worker starts, drained: at the defaults
 *   (autoscaled up to 8 polls per activity, so 8 pollers once grown), and for comparison with at
 *   most 16, 2 (the old fixed default) and 1 (no autoscaling), each twice in mirrored order.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type LocalStack, startLocalStack } from '../../../infra/local-stack/index.ts';
import { allowEverythingDocument } from '../../../infra/local-stack/worker-on-local-stack.ts';
import {
  allActivitySuffixes,
  toActivityDefinition,
} from '../../../infra/state-machines/native-resources.ts';
import { loadConfig } from '../../../lib/config.ts';
import {
  type ClusterCoordinates,
  quickTaskDefinition,
  readPickupMs,
  waitingJobDefinition,
} from '../../support/pickup-workloads.ts';
import { runPool } from '../stats.ts';
import { startWorkerProcess, type WorkerProcess, type WorkerRunMode } from '../worker-process.ts';

export interface PickupOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  /** Executions per phase. @default 200 */
  executions?: number;
  /** Mean gap between arrivals. @default 400 */
  meanGapMs?: number;
  /** Queued eks:call tasks of the burst. @default 1000 */
  burstTasks?: number;
  /** Skip the idle and load phases (to measure the drain alone). */
  burstOnly?: boolean;
}

export interface PickupFigures {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Executions that did not end (should be 0) and how the rest ended. */
  unfinished: number;
  statuses: Record<string, number>;
}

export interface DrainFigures {
  tasks: number;
  pollersPerActivity: number;
  /** First to last ActivityStarted. */
  pickupSpanMs: number;
  /** Tasks held per second over that span. */
  tasksPerSecond: number;
  /** First ActivityStarted to the last answer (ActivitySucceeded/Failed). */
  answeredPerSecond: number;
  succeeded: number;
  /** The machine's 1-minute load average when the drain ended (2 cores here). */
  loadAverage: number;
}

export interface PickupResult {
  defaults: { maxConcurrentTasks: number; pollersPerActivity: number };
  activities: number;
  longPollHoldMs: number;
  meanArrivalGapMs: number;
  idle: PickupFigures;
  /**
   * GetActivityTask requests the idle worker held once the arrivals were over and a whole hold
   * had passed (the goal: no more than one per activity).
   */
  idlePollsAfterArrivals: number;
  load: PickupFigures & { busyTasks: number };
  /**
   * Every drain, in the order run: each ceiling of polls per activity twice, in mirrored order
   * (8, 16, 2, 1, 1, 2, 16, 8), so a machine whose load drifts favours none. 8 is the default;
   * 2 was the old fixed count; 1 is no autoscaling.
   */
  drains: DrainFigures[];
}

/** A small seeded generator (mulberry32), so runs draw the same arrival pattern. */
const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};

const nearestRank = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ??
  Number.NaN;

const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };

interface Bench {
  stack: LocalStack;
  sfn: SFNClient;
  cluster: ClusterCoordinates;
  activityArns: Record<string, string>;
  quickMachines: Record<string, string>;
  waitingMachine: string;
  history(arn: string): Promise<HistoryEvent[]>;
  waitForEnd(arns: readonly string[], timeoutMs: number): Promise<Record<string, number>>;
  startWorker(env?: Record<string, string>): WorkerProcess;
}

const setUp = async (options: PickupOptions, longPollHoldMs: number): Promise<Bench> => {
  const stack = await startLocalStack({ sfn: { longPollHoldMs } });
  const sfn = new SFNClient({
    region: stack.region,
    endpoint: stack.sfn.endpoint,
    credentials: stack.credentials,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
    }),
  });
  const run = `pickup${Date.now().toString(36)}`;
  const activityArns: Record<string, string> = {};
  for (const suffix of allActivitySuffixes) {
    const out = await sfn.send(new CreateActivityCommand({ name: `${run}-${suffix}` }));
    activityArns[suffix] = out.activityArn as string;
  }
  const createMachine = async (name: string, native: Record<string, unknown>) => {
    const definition = toActivityDefinition(native, (suffix) => activityArns[suffix] as string);
    const out = await sfn.send(
      new CreateStateMachineCommand({
        name: `${run}-${name}`,
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${stack.accountId}:role/bench`,
      }),
    );
    return out.stateMachineArn as string;
  };
  const cluster: ClusterCoordinates = {
    ClusterName: stack.cluster.clusterName,
    Endpoint: stack.cluster.endpoint,
    CertificateAuthority: stack.cluster.caData,
  };
  const quickMachines: Record<string, string> = {};
  for (const suffix of allActivitySuffixes) {
    // Job names come from the execution input so every execution's Job is new.
    const native = quickTaskDefinition(suffix, cluster, 'unused');
    const task = native.States.Task as { Parameters: Record<string, unknown> };
    if (suffix.startsWith('eks-runJob')) {
      const job = task.Parameters.Job as { metadata: Record<string, unknown> };
      job.metadata = { 'name.$': '$.jobName' };
    }
    quickMachines[suffix] = await createMachine(suffix, native);
  }
  const waitingMachine = await createMachine('waiting', waitingJobDefinition(cluster));

  const history = async (executionArn: string): Promise<HistoryEvent[]> => {
    const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    return out.events ?? [];
  };
  const waitForEnd = async (arns: readonly string[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    const statuses: Record<string, number> = {};
    await runPool(arns, 16, async (executionArn) => {
      for (;;) {
        const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        const status = out.status ?? 'UNKNOWN';
        if (status !== 'RUNNING' || Date.now() > deadline) {
          const key = out.error ? `${status} ${out.error}` : status;
          statuses[key] = (statuses[key] ?? 0) + 1;
          return;
        }
        await sleep(100);
      }
    });
    return statuses;
  };
  const startWorker = (env: Record<string, string> = {}) =>
    startWorkerProcess({
      mode: options.mode,
      ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
      env: {
        ...stack.awsEnvironment(),
        EKS_WORKER_ACTIVITY_ARNS: Object.values(activityArns).join(','),
        EKS_WORKER_NAME: 'bench-pickup',
        // Every activity may reach the local cluster and EKS, so the tasks do their real work
        // rather than end PolicyDenied before sending anything.
        EKS_WORKER_POLICY: JSON.stringify(allowEverythingDocument),
        EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
        EKS_WORKER_LOG_LEVEL: 'ERROR',
        ...env,
      },
    });
  return {
    stack,
    sfn,
    cluster,
    activityArns,
    quickMachines,
    waitingMachine,
    history,
    waitForEnd,
    startWorker,
  };
};

/**
 * A pass-through proxy in front of the local Step Functions that counts GetActivityTask requests
 * in flight: the polls a worker holds. Bytes and headers are forwarded unchanged (SigV4 signs
 * `host`, which the verifier checks as received).
 */
const startPollCounter = async (upstreamEndpoint: string) => {
  const upstream = new URL(upstreamEndpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  let inFlight = 0;
  const server = createServer((req, res) => {
    const isPoll = String(req.headers['x-amz-target'] ?? '').endsWith('.GetActivityTask');
    if (isPoll) inFlight += 1;
    let counted = isPoll;
    const done = () => {
      if (counted) inFlight -= 1;
      counted = false;
    };
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', done);
      },
    );
    forwarded.on('error', () => {
      done();
      res.destroy();
    });
    res.on('close', done);
    req.pipe(forwarded);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pollsInFlight: () => inFlight,
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

let executionSequence = 0;

class SkipArrivals extends Error {}

const startQuick = async (bench: Bench, suffix: string): Promise<string> => {
  const name = `q${++executionSequence}-${Date.now().toString(36)}`;
  const out = await bench.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: bench.quickMachines[suffix],
      name,
      input: JSON.stringify({ jobName: name.toLowerCase() }),
    }),
  );
  return out.executionArn as string;
};

/** `count` executions over the 15 activities, arriving with exponential gaps. */
const runArrivals = async (
  bench: Bench,
  count: number,
  meanGapMs: number,
  seed: number,
): Promise<PickupFigures> => {
  const random = seededRandom(seed);
  const started: Promise<string>[] = [];
  for (let n = 0; n < count; n += 1) {
    const suffix = allActivitySuffixes[Math.floor(random() * allActivitySuffixes.length)] as string;
    started.push(startQuick(bench, suffix));
    await sleep(-Math.log(1 - random()) * meanGapMs);
  }
  const arns = await Promise.all(started);
  const statuses = await bench.waitForEnd(arns, 120_000);
  const pickups = (
    await runPool(arns, 16, async (arn) => readPickupMs(await bench.history(arn)))
  ).filter((ms): ms is number => ms !== undefined);
  const sorted = [...pickups].sort((a, b) => a - b);
  return {
    count: pickups.length,
    p50Ms: nearestRank(sorted, 50),
    p99Ms: nearestRank(sorted, 99),
    maxMs: nearestRank(sorted, 100),
    unfinished: statuses.RUNNING ?? 0,
    statuses,
  };
};

/** Queues `tasks` eks:call executions, then starts a worker and measures how fast it drains. */
const runBurst = async (
  bench: Bench,
  tasks: number,
  workerEnv: Record<string, string>,
  pollersPerActivity: number,
): Promise<DrainFigures> => {
  const arns = await runPool(
    Array.from({ length: tasks }),
    25,
    async () => await startQuick(bench, 'eks-call'),
  );
  const worker = bench.startWorker(workerEnv);
  try {
    const statuses = await bench.waitForEnd(arns, 180_000);
    const histories = await runPool(arns, 16, (arn) => bench.history(arn));
    const timeOf = (events: HistoryEvent[], types: string[]) =>
      events.find((event) => types.includes(event.type ?? ''))?.timestamp?.getTime();
    const startedAt = histories
      .map((events) => timeOf(events, ['ActivityStarted']))
      .filter((ms): ms is number => ms !== undefined);
    const answeredAt = histories
      .map((events) => timeOf(events, ['ActivitySucceeded', 'ActivityFailed']))
      .filter((ms): ms is number => ms !== undefined);
    const first = Math.min(...startedAt);
    const spanMs = Math.max(...startedAt) - first;
    const answerSpanMs = Math.max(...answeredAt) - first;
    return {
      tasks,
      pollersPerActivity,
      pickupSpanMs: spanMs,
      tasksPerSecond: Math.round(((startedAt.length - 1) / spanMs) * 1000),
      answeredPerSecond: Math.round((answeredAt.length / answerSpanMs) * 1000),
      succeeded: statuses.SUCCEEDED ?? 0,
      loadAverage: Math.round(loadavg()[0] ?? 0),
    };
  } finally {
    // Only held polls are left (the queue is drained); a poll cut off loses nothing here, since
    // the local service only hands a task to a poll whose client is still there.
    await worker.stop(3_000);
  }
};

export const runPickup = async (options: PickupOptions): Promise<PickupResult> => {
  const executions = options.executions ?? 200;
  const meanGapMs = options.meanGapMs ?? 400;
  const burstTasks = options.burstTasks ?? 1_000;
  const longPollHoldMs = 60_000;
  const defaults = loadConfig(
    { AWS_REGION: 'us-east-1' },
    { activityArns: ['arn:aws:states:us-east-1:123456789012:activity:x-eks-call'] },
  );
  const bench = await setUp(options, longPollHoldMs);
  try {
    const none: PickupFigures = {
      count: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      unfinished: 0,
      statuses: {},
    };
    let idle: PickupFigures = none;
    let load: PickupFigures & { busyTasks: number } = { ...none, busyTasks: 0 };
    // Only this worker polls through the counting proxy: the drains below go direct, so the
    // extra hop costs them no CPU.
    const counter = await startPollCounter(bench.stack.sfn.endpoint);
    let idlePollsAfterArrivals = Number.NaN;
    const worker = bench.startWorker({ AWS_ENDPOINT_URL_SFN: counter.endpoint });
    try {
      if (options.burstOnly) throw new SkipArrivals();
      // The first task of each activity pays for EKS look-ups, token signing and TLS.
      const warm = await Promise.all(allActivitySuffixes.map((s) => startQuick(bench, s)));
      await bench.waitForEnd(warm, 60_000);

      console.log(`idle: ${executions} executions, mean gap ${meanGapMs} ms`);
      idle = await runArrivals(bench, executions, meanGapMs, 1);
      // Polls grown by the arrivals come back empty within one hold and are not replaced.
      await sleep(longPollHoldMs + 5_000);
      idlePollsAfterArrivals = counter.pollsInFlight();
      console.log(`idle polls in flight after the arrivals: ${idlePollsAfterArrivals}`);

      const busyTasks = Math.floor(defaults.maxConcurrentTasks * 0.8);
      console.log(`load: ${busyTasks} waiting runJob.sync tasks, then ${executions} executions`);
      await runPool(Array.from({ length: busyTasks }), 25, async (_, n) => {
        await bench.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: bench.waitingMachine,
            input: JSON.stringify({ jobName: `busy-${n}` }),
          }),
        );
      });
      const jobs = () =>
        bench.stack.cluster.store
          .list(jobsType, 'default')
          .items.filter((job) => job.metadata.name?.startsWith('busy-')).length;
      const deadline = Date.now() + 120_000;
      while (jobs() < busyTasks) {
        if (Date.now() > deadline) throw new Error(`only ${jobs()} of ${busyTasks} Jobs created`);
        await sleep(100);
      }
      load = { busyTasks, ...(await runArrivals(bench, executions, meanGapMs, 2)) };
    } catch (error) {
      if (!(error instanceof SkipArrivals)) throw error;
    } finally {
      await worker.stop();
      await counter.close();
    }

    const drains: DrainFigures[] = [];
    const ceilings = [defaults.pollersPerActivity, 16, 2, 1];
    for (const ceiling of [...ceilings, ...[...ceilings].reverse()]) {
      console.log(
        `burst: ${burstTasks} queued eks:call tasks, at most ${ceiling} polls per activity`,
      );
      // A fresh stack per drain: the executions and Jobs of earlier runs slow the local services
      // down (measured: every ceiling drained slower in the second half of one shared stack).
      const fresh = await setUp(options, longPollHoldMs);
      try {
        drains.push(
          await runBurst(
            fresh,
            burstTasks,
            { EKS_WORKER_POLLERS_PER_ACTIVITY: String(ceiling) },
            ceiling,
          ),
        );
      } finally {
        fresh.sfn.destroy();
        await fresh.stack.close();
      }
    }
    return {
      defaults: {
        maxConcurrentTasks: defaults.maxConcurrentTasks,
        pollersPerActivity: defaults.pollersPerActivity,
      },
      activities: allActivitySuffixes.length,
      longPollHoldMs,
      meanArrivalGapMs: meanGapMs,
      idle,
      idlePollsAfterArrivals,
      load,
      drains,
    };
  } finally {
    bench.sfn.destroy();
    await bench.stack.close();
  }
};

const meanRate = (result: PickupResult, ceiling: number): number => {
  const runs = result.drains.filter((d) => d.pollersPerActivity === ceiling);
  return runs.reduce((sum, d) => sum + d.tasksPerSecond, 0) / Math.max(1, runs.length);
};

/** The summary rows of this part (run-bench prints and records them). */
export const pickupSummary = (
  result: PickupResult,
): { figure: string; measured: string; goal: string; met: boolean | null }[] => {
  const figures = (f: PickupFigures) =>
    `p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms over ${f.count} (${Object.entries(
      f.statuses,
    )
      .map(([status, n]) => `${status} ${n}`)
      .join(', ')})`;
  const atDefaults = `defaults: ${result.defaults.maxConcurrentTasks} slots, up to ${result.defaults.pollersPerActivity} polls per activity; ${result.activities} activities, ${result.longPollHoldMs / 1000} s holds`;
  return [
    {
      figure: `TaskScheduled -> ActivityStarted, idle worker (${atDefaults})`,
      measured: figures(result.idle),
      goal: 'p99 < 500 ms',
      met: result.idle.count > 0 && result.idle.p99Ms < 500 && result.idle.unfinished === 0,
    },
    {
      figure: `TaskScheduled -> ActivityStarted, ${result.load.busyTasks} slots held by waiting runJob.sync tasks`,
      measured: figures(result.load),
      goal: 'p99 < 500 ms',
      met: result.load.count > 0 && result.load.p99Ms < 500 && result.load.unfinished === 0,
    },
    {
      figure: `GetActivityTask requests held by the idle worker (${result.activities} activities)`,
      measured: `${result.idlePollsAfterArrivals}`,
      goal: 'no more than one per activity',
      met: result.idlePollsAfterArrivals <= result.activities,
    },
    {
      figure: `Drain of ${result.drains[0]?.tasks} queued eks:call tasks (tasks held per second; each ceiling of polls per activity run twice)`,
      measured: [...new Set(result.drains.map((d) => d.pollersPerActivity))]
        .map((ceiling) => {
          const runs = result.drains.filter((d) => d.pollersPerActivity === ceiling);
          const label =
            ceiling === result.defaults.pollersPerActivity ? `${ceiling} (default)` : `${ceiling}`;
          return `at most ${label}: ${runs.map((d) => `${d.tasksPerSecond}/s (load ${d.loadAverage})`).join(' and ')}`;
        })
        .join('; '),
      goal: 'at the defaults at least as fast as 8 pollers per activity (and as the old 2)',
      met: meanRate(result, result.defaults.pollersPerActivity) >= 0.9 * meanRate(result, 2),
    },
  ];
};
