/**
 * `npm run bench [-- <part>...] [--tsx] [--jobs=N] [--tasks=N] [--job-run-ms=N] [--scale=N]
 *   [--executions=N] [--workers=N] [--worker-heap-mib=N (0: none)] [--resumer-timeout-s=N]
 *   [--crash-resumer]`
 *
 * Benchmarks against the local stack, with the worker as a separate process (the esbuild
 * bundle run by plain `node`, as production runs it; `--tsx` runs the sources through tsx
 * instead). Parts: `latency` (incl. Kubernetes API requests per Job), `log` (trimmed 1 GiB log),
 * `concurrency` (5,000 heartbeating runJob.sync tasks in one process), `long-jobs` (requests per
 * Job for 500 10-minute Jobs, time scaled by `--scale`, default 10), `scale-out` (4 processes,
 * 2,000 executions), `pickup` (TaskScheduled -> ActivityStarted at the defaults, idle and at 80 %
 * load, and the drain rate of 1,000 queued tasks), `durability` (1,000 waiting runJob.sync tasks
 * carried through the hand-off queue while 3 processes are replaced one by one with SIGTERM and
 * one is SIGKILLed: failures, Jobs per task, the longest unheartbeated gap, completion latency,
 * exit times, and the SQS requests it adds; `--tasks`, `--job-run-ms`, `--workers`),
 * `lambda-capacity` (the default Lambda deployment, packaged, in the local Lambda service, carrying
 * 5,000 long runJob.sync waits; not in the default set: it takes about 15 minutes;
 * `--tasks`, `--job-run-ms`, `--resumer-timeout-s`, `--crash-resumer`). Prints a summary table and
 * writes
 * test/bench/results/latest.json (a single-part run replaces only that part's figures).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type BigLogResult, runBigLog } from './parts/big-log.ts';
import { type ConcurrencyResult, runConcurrency } from './parts/concurrency.ts';
import { type DurabilityResult, durabilitySummary, runDurability } from './parts/durability.ts';
import {
  type LambdaCapacityResult,
  lambdaCapacitySummary,
  runLambdaCapacity,
} from './parts/lambda-capacity.ts';
import { type LatencyResult, runLatency } from './parts/latency.ts';
import { type LongJobsResult, runLongJobs } from './parts/long-jobs.ts';
import { type PickupResult, pickupSummary, runPickup } from './parts/pickup.ts';
import { runScaleOut, type ScaleOutResult } from './parts/scale-out.ts';
import { bundleWorker, type WorkerRunMode } from './worker-process.ts';

const parts = [
  'latency',
  'log',
  'concurrency',
  'long-jobs',
  'scale-out',
  'pickup',
  'durability',
  'lambda-capacity',
] as const;
type Part = (typeof parts)[number];
/** Run only when named. */
const onlyWhenNamed: readonly Part[] = ['lambda-capacity'];

interface Results {
  measuredAt?: string;
  machine?: Record<string, unknown>;
  workerRun?: string;
  latency?: LatencyResult & { measuredAt: string };
  log?: BigLogResult & { measuredAt: string };
  concurrency?: ConcurrencyResult & { measuredAt: string };
  'long-jobs'?: LongJobsResult & { measuredAt: string };
  'scale-out'?: ScaleOutResult & { measuredAt: string };
  pickup?: PickupResult & { measuredAt: string };
  durability?: DurabilityResult & { measuredAt: string };
  'lambda-capacity'?: LambdaCapacityResult & { measuredAt: string };
  /** Seconds each part took in its last run. */
  partSeconds?: Record<string, number>;
  summary?: SummaryRow[];
}

interface SummaryRow {
  figure: string;
  measured: string;
  goal: string;
  met: boolean | null;
}

const resultsPath = join('test', 'bench', 'results', 'latest.json');

const readNumberFlag = (args: readonly string[], flag: string): number | undefined => {
  const raw = args.find((arg) => arg.startsWith(`--${flag}=`))?.split('=')[1];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`--${flag} must be a positive integer`);
  return value;
};

const toSummary = (results: Results): SummaryRow[] => {
  const rows: SummaryRow[] = [];
  const { latency, log, concurrency } = results;
  if (latency) {
    const l = latency.completeToAnswer;
    rows.push({
      figure: `Job terminal condition -> SendTaskSuccess (${l.count} Jobs)`,
      measured: `median ${l.medianMs} ms, p90 ${l.p90Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms`,
      goal: 'p99 < 1000 ms (native: 60-300 s polls)',
      met: l.count >= 100 && l.p99Ms < 1000 && latency.succeeded === latency.jobs,
    });
    rows.push({
      figure: 'Kubernetes API requests per Job',
      measured: `${latency.kubeApi.requestsPerJob} (${Object.entries(latency.kubeApi.perJobByKind)
        .map(([route, n]) => `${route}: ${n}`)
        .join('; ')})`,
      goal: 'native: ~1 GET per minute per Job',
      met: null,
    });
  }
  if (concurrency) {
    const c = concurrency;
    rows.push({
      figure: `Peak RSS, ${c.tasks} concurrent runJob.sync tasks (worker ${c.workerHeapMiB ? `--max-old-space-size=${c.workerHeapMiB}` : 'without a heap limit'})`,
      measured: `${c.peakRssMiB} MiB (idle ${c.idleRssMiB} MiB; held at most ${c.maxHeldTasks} at once)`,
      goal: '< 512 MiB',
      met: c.peakRssMiB < 512 && c.maxHeldTasks === c.tasks,
    });
    rows.push({
      figure: `Late heartbeats (interval ${c.heartbeatIntervalMs} ms, HeartbeatSeconds ${c.heartbeatSeconds})`,
      measured: `${c.lateHeartbeats} of ${c.heartbeats} (gap median ${c.heartbeatGapMs.median} ms, p99 ${c.heartbeatGapMs.p99} ms, max ${c.heartbeatGapMs.max} ms); HeartbeatTimeout ${c.heartbeatTimeouts}; ${c.succeeded}/${c.tasks} succeeded`,
      goal: 'none late, all succeed',
      met: c.lateHeartbeats === 0 && c.heartbeatTimeouts === 0 && c.succeeded === c.tasks,
    });
  }
  const longJobs = results['long-jobs'];
  if (longJobs) {
    const l = longJobs;
    rows.push({
      figure: `Kubernetes API requests per Job, ${l.jobs} Jobs of ${l.representsJobRunMs / 60_000} min at once (re-list every ${l.representsResyncIntervalMs / 1000} s)`,
      measured: `${l.requestsPerJob} measured at time scale 1/${l.scale} (${l.jobRunMs / 1000} s Jobs, re-list every ${l.resyncIntervalMs / 1000} s; ${Object.entries(
        l.byKind,
      )
        .map(([kind, n]) => `${kind}: ${n}`)
        .join(
          '; ',
        )}); ${l.projectedRequestsPerJob} with the unscaled watch re-opens added; ${l.succeeded}/${l.jobs} succeeded`,
      goal: '<= 1.05 (native: ~1 GET per minute per Job, ~11 for 10 minutes)',
      met: l.projectedRequestsPerJob <= 1.05 && l.succeeded === l.jobs,
    });
  }
  const scaleOut = results['scale-out'];
  if (scaleOut) {
    const s = scaleOut;
    const fairShare = 100 / s.workers;
    rows.push({
      figure: `Scale-out: ${s.workers} worker processes, ${s.executions} executions`,
      measured: `${s.succeeded}/${s.executions} succeeded, ${s.wrongOutputs} wrong outputs, ${s.takenTwice} taken twice, ${s.answeredTwice} answered twice (${s.answerRetries} answer retries refused), ${s.unanswered} unanswered${Object.keys(s.failures ?? {}).length > 0 ? `, failures ${JSON.stringify(s.failures)}` : ''}; shares ${s.perWorker.map((w) => `${w.sharePercent}%`).join(' / ')}; ${s.executionsPerSecond} executions/s`,
      goal: `each ends once with its own output, nothing twice; every process takes a share (> ${fairShare / 4}%)`,
      met:
        s.succeeded === s.executions &&
        s.wrongOutputs === 0 &&
        s.takenTwice === 0 &&
        s.answeredTwice === 0 &&
        s.perWorker.every((w) => w.sharePercent > fairShare / 4),
    });
  }
  if (log) {
    rows.push({
      figure: 'Peak RSS returning a trimmed 1 GiB log',
      measured: `+${log.peakAboveIdleMiB} MiB over idle (idle ${log.idleRssMiB}, peak ${log.peakRssMiB} MiB); output ${log.outputBytes} B, truncated ${log.truncated}`,
      goal: 'within 50 MB of idle; output <= 262144 B, truncated',
      met:
        log.succeeded &&
        log.peakAboveIdleMiB * 1.048576 <= 50 &&
        log.outputBytes <= 262_144 &&
        log.truncated,
    });
  }
  if (results.pickup) rows.push(...pickupSummary(results.pickup));
  if (results.durability) rows.push(...durabilitySummary(results.durability));
  const lambdaCapacity = results['lambda-capacity'];
  if (lambdaCapacity) rows.push(...lambdaCapacitySummary(lambdaCapacity));
  return rows;
};

const printSummary = (rows: readonly SummaryRow[], workerRun: string): void => {
  const mark = (met: boolean | null) => (met === null ? ' -- ' : met ? ' ok ' : 'MISS');
  console.log(`\nSummary (worker: ${workerRun})`);
  for (const row of rows) {
    console.log(
      `[${mark(row.met)}] ${row.figure}\n        measured: ${row.measured}\n        goal:     ${row.goal}`,
    );
  }
};

const main = async (): Promise<number> => {
  const args = process.argv.slice(2);
  const asked = args.filter((arg) => !arg.startsWith('--'));
  const unknown = asked.filter((arg) => !(parts as readonly string[]).includes(arg));
  if (unknown.length > 0) {
    console.error(`unknown part(s) ${unknown.join(', ')}; parts: ${parts.join(', ')}`);
    return 2;
  }
  const selected: Part[] =
    asked.length > 0 ? (asked as Part[]) : parts.filter((part) => !onlyWhenNamed.includes(part));
  const mode: WorkerRunMode = args.includes('--tsx') ? 'tsx' : 'bundle';
  // The process worker's bundle; lambda-capacity packages the Lambda functions itself.
  const needsWorker = selected.some((part) => part !== 'lambda-capacity');
  const bundlePath = mode === 'bundle' && needsWorker ? await bundleWorker() : undefined;
  const workerRun =
    mode === 'bundle'
      ? 'esbuild bundle of lib/hosts/process-main.ts, plain node'
      : 'tsx lib/hosts/process-main.ts';
  const run = { mode, ...(bundlePath ? { bundlePath } : {}) };

  const results: Results = existsSync(resultsPath)
    ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Results)
    : {};
  const now = () => new Date().toISOString();
  for (const part of selected) {
    const startedMs = Date.now();
    console.log(`\n== ${part} ==`);
    if (part === 'latency') {
      const jobs = readNumberFlag(args, 'jobs');
      results.latency = {
        ...(await runLatency({ ...run, ...(jobs ? { jobs } : {}) })),
        measuredAt: now(),
      };
    } else if (part === 'durability') {
      const tasks = readNumberFlag(args, 'tasks');
      const jobRunMs = readNumberFlag(args, 'job-run-ms');
      const workers = readNumberFlag(args, 'workers');
      results.durability = {
        ...(await runDurability({
          ...run,
          ...(tasks ? { tasks } : {}),
          ...(jobRunMs ? { jobRunMs } : {}),
          ...(workers ? { workers } : {}),
        })),
        measuredAt: now(),
      };
    } else if (part === 'lambda-capacity') {
      const tasks = readNumberFlag(args, 'tasks');
      const jobRunMs = readNumberFlag(args, 'job-run-ms');
      const resumerTimeoutSeconds = readNumberFlag(args, 'resumer-timeout-s');
      results['lambda-capacity'] = {
        ...(await runLambdaCapacity({
          mode,
          ...(tasks ? { tasks } : {}),
          ...(jobRunMs ? { jobRunMs } : {}),
          ...(resumerTimeoutSeconds ? { resumerTimeoutSeconds } : {}),
          crashResumer: args.includes('--crash-resumer'),
        })),
        measuredAt: now(),
      };
    } else if (part === 'pickup') {
      results.pickup = { ...(await runPickup(run)), measuredAt: now() };
    } else if (part === 'log') {
      results.log = { ...(await runBigLog(run)), measuredAt: now() };
    } else if (part === 'long-jobs') {
      const scale = readNumberFlag(args, 'scale');
      const jobs = readNumberFlag(args, 'jobs');
      results['long-jobs'] = {
        ...(await runLongJobs({ ...run, ...(scale ? { scale } : {}), ...(jobs ? { jobs } : {}) })),
        measuredAt: now(),
      };
    } else if (part === 'scale-out') {
      const executions = readNumberFlag(args, 'executions');
      const workers = readNumberFlag(args, 'workers');
      results['scale-out'] = {
        ...(await runScaleOut({
          ...run,
          ...(executions ? { executions } : {}),
          ...(workers ? { workers } : {}),
        })),
        measuredAt: now(),
      };
    } else {
      const tasks = readNumberFlag(args, 'tasks');
      const jobRunMs = readNumberFlag(args, 'job-run-ms');
      const heapRaw = args.find((arg) => arg.startsWith('--worker-heap-mib='))?.split('=')[1];
      results.concurrency = {
        ...(await runConcurrency({
          ...run,
          ...(tasks ? { tasks } : {}),
          ...(jobRunMs ? { jobRunMs } : {}),
          ...(heapRaw === undefined ? {} : { workerHeapMiB: Number(heapRaw) }),
        })),
        measuredAt: now(),
      };
    }
    console.log(JSON.stringify(results[part], null, 2));
    const seconds = Math.round((Date.now() - startedMs) / 1000);
    results.partSeconds = { ...results.partSeconds, [part]: seconds };
    console.log(`(${part} took ${seconds} s)`);
  }

  results.measuredAt = now();
  results.workerRun = workerRun;
  results.machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  results.summary = toSummary(results);
  printSummary(results.summary, workerRun);
  console.log(
    `\nSeconds per part (last run of each): ${Object.entries(results.partSeconds ?? {})
      .map(([part, seconds]) => `${part} ${seconds}`)
      .join(', ')}`,
  );
  mkdirSync(join('test', 'bench', 'results'), { recursive: true });
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  // In the layout `npm run lint` checks (biome puts short arrays on one line), so a bench run
  // never leaves the tree failing CI's lint.
  spawnSync('npx', ['biome', 'format', '--write', resultsPath], { stdio: 'ignore' });
  console.log(`\nwritten: ${resultsPath}`);
  return 0;
};

process.exitCode = await main();
