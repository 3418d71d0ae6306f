/**
 * `npm run bench [-- <part>...] [--tsx] [--jobs=N] [--tasks=N] [--job-run-ms=N]`
 *
 * Issue-4 benchmarks against the local stack, with the worker as a separate process (the esbuild
 * bundle run by plain `node`, as production runs it; `--tsx` runs the sources through tsx
 * instead). Parts: `latency` (incl. Kubernetes API requests per Job), `log` (trimmed 1 GiB log),
 * `concurrency` (500 heartbeating tasks), `pickup` (TaskScheduled -> ActivityStarted at the
 * defaults, idle and at 80 % load, and the drain rate of 1,000 queued tasks). Prints a summary table and writes
 * test/bench/results/latest.json (a single-part run replaces only that part's figures).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type BigLogResult, runBigLog } from './parts/big-log.ts';
import { type ConcurrencyResult, runConcurrency } from './parts/concurrency.ts';
import { type LatencyResult, runLatency } from './parts/latency.ts';
import { type PickupResult, pickupSummary, runPickup } from './parts/pickup.ts';
import { bundleWorker, type WorkerRunMode } from './worker-process.ts';

const parts = ['latency', 'log', 'concurrency', 'pickup'] as const;
type Part = (typeof parts)[number];

interface Results {
  measuredAt?: string;
  machine?: Record<string, unknown>;
  workerRun?: string;
  latency?: LatencyResult & { measuredAt: string };
  log?: BigLogResult & { measuredAt: string };
  concurrency?: ConcurrencyResult & { measuredAt: string };
  pickup?: PickupResult & { measuredAt: string };
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
      figure: `Peak RSS, ${c.tasks} concurrent runJob.sync tasks`,
      measured: `${c.peakRssMiB} MiB (idle ${c.idleRssMiB} MiB; held at most ${c.maxHeldTasks} at once)`,
      goal: '< 300 MB',
      met: c.peakRssMiB * 1.048576 < 300,
    });
    rows.push({
      figure: `Late heartbeats (interval ${c.heartbeatIntervalMs} ms, HeartbeatSeconds ${c.heartbeatSeconds})`,
      measured: `${c.lateHeartbeats} of ${c.heartbeats} (gap median ${c.heartbeatGapMs.median} ms, p99 ${c.heartbeatGapMs.p99} ms, max ${c.heartbeatGapMs.max} ms); HeartbeatTimeout ${c.heartbeatTimeouts}; ${c.succeeded}/${c.tasks} succeeded`,
      goal: 'none late, all succeed',
      met: c.lateHeartbeats === 0 && c.heartbeatTimeouts === 0 && c.succeeded === c.tasks,
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
  const selected: Part[] = asked.length > 0 ? (asked as Part[]) : [...parts];
  const mode: WorkerRunMode = args.includes('--tsx') ? 'tsx' : 'bundle';
  const bundlePath = mode === 'bundle' ? await bundleWorker() : undefined;
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
    } else if (part === 'pickup') {
      results.pickup = { ...(await runPickup(run)), measuredAt: now() };
    } else if (part === 'log') {
      results.log = { ...(await runBigLog(run)), measuredAt: now() };
    } else {
      const tasks = readNumberFlag(args, 'tasks');
      const jobRunMs = readNumberFlag(args, 'job-run-ms');
      results.concurrency = {
        ...(await runConcurrency({
          ...run,
          ...(tasks ? { tasks } : {}),
          ...(jobRunMs ? { jobRunMs } : {}),
        })),
        measuredAt: now(),
      };
    }
    console.log(JSON.stringify(results[part], null, 2));
    console.log(`(${part} took ${Math.round((Date.now() - startedMs) / 1000)} s)`);
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
  mkdirSync(join('test', 'bench', 'results'), { recursive: true });
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten: ${resultsPath}`);
  return 0;
};

process.exitCode = await main();
