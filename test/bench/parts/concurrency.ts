/**
 * One worker process holding many `runJob.sync` tasks at once (5,000 by default), each
 * heartbeating at the production defaults (every 20 s, `HeartbeatSeconds` 60 as the README
 * advises): its peak RSS, and how many heartbeats reached Step Functions late.
 *
 * A heartbeat is late when the gap since the previous one (or since the task was handed out, when
 * Step Functions' heartbeat clock starts) exceeds the worker's interval by more than the slack;
 * a task that hit `States.HeartbeatTimeout` counts too.
 *
 * `BENCH_DUMP_TASKS=<file>` writes every task's record (handed out, heartbeats, answer, all in
 * the bench's performance.now() milliseconds) and when its Job ended, to see when gaps happen.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchEnv, startBenchEnv } from '../bench-env.ts';
import { percentile, runPool, toMiB } from '../stats.ts';
import {
  readCpuSeconds,
  readMemory,
  resetPeakRss,
  type WorkerRunMode,
  waitForSteadyRss,
} from '../worker-process.ts';

export interface ConcurrencyOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  /** @default 5000 */
  tasks?: number;
  /** How long each Job's container runs: longer than handing all tasks out. @default 180000 */
  jobRunMs?: number;
  /** @default 20000 (the worker's default) */
  heartbeatIntervalMs?: number;
  /** @default 60 */
  heartbeatSeconds?: number;
  /**
   * The worker's V8 old-space limit (`--max-old-space-size`), as a container with a 512 MiB memory
   * limit should set it: without one, V8 sizes its heap from the machine's memory (24 GiB here)
   * and lets garbage pile up to hundreds of MiB between major collections. 0: none. @default 384
   */
  workerHeapMiB?: number;
  /** Extra gap allowed before a heartbeat counts as late. @default 1000 */
  lateSlackMs?: number;
}

export interface ConcurrencyResult {
  tasks: number;
  succeeded: number;
  heartbeatTimeouts: number;
  otherFailures: Record<string, number>;
  /** One `cause` per failure kind (never holds a token: the worker's causes are API errors). */
  failureExamples: Record<string, string>;
  jobRunMs: number;
  heartbeatIntervalMs: number;
  heartbeatSeconds: number;
  /** Time from the first StartExecution to the last task handed to the worker. */
  dispatchMs: number;
  /** Most tasks the worker held at once (handed out, not yet answered). */
  maxHeldTasks: number;
  heartbeats: number;
  lateHeartbeats: number;
  refusedHeartbeats: number;
  heartbeatGapMs: { median: number; p99: number; max: number };
  /** Tasks with no answer when the bench gave up waiting. */
  unanswered: number;
  /** CPU the worker process used during the run (one core = `runWallSeconds`). */
  workerCpuSeconds: number;
  runWallSeconds: number;
  /** Event-loop delay of the bench process, which hosts the local stack and the proxy. */
  benchEventLoopDelayMs: { p99: number; max: number };
  /** The worker's `--max-old-space-size`, or null without one. */
  workerHeapMiB: number | null;
  idleRssMiB: number;
  /** (peak - idle) / tasks: what one waiting task costs. */
  perTaskKiB: number;
  /** Kernel `VmHWM` after a reset at the start of the run (when the reset is allowed). */
  peakRssMiB: number;
  /** The peak of `VmRSS` sampled every 100 ms. */
  sampledPeakRssMiB: number;
  peakResetByKernel: boolean;
}

const countHeld = (env: BenchEnv): number => {
  let held = 0;
  for (const task of env.recorder.tasks.values()) if (task.answeredAtMs === undefined) held += 1;
  return held;
};

export const runConcurrency = async (options: ConcurrencyOptions): Promise<ConcurrencyResult> => {
  const tasks = options.tasks ?? 5_000;
  const jobRunMs = options.jobRunMs ?? 180_000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 20_000;
  const heartbeatSeconds = options.heartbeatSeconds ?? 60;
  const lateSlackMs = options.lateSlackMs ?? 1_000;
  const workerHeapMiB = options.workerHeapMiB ?? 384;
  const env = await startBenchEnv({
    mode: options.mode,
    ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
    heartbeatIntervalMs,
    heartbeatSeconds,
    maxConcurrentTasks: tasks + 100,
    pollersPerActivity: 4,
    longPollHoldMs: 5_000,
    ...(workerHeapMiB > 0
      ? { workerEnv: { NODE_OPTIONS: `--max-old-space-size=${workerHeapMiB}` } }
      : {}),
  });
  try {
    const prefix = `conc${Date.now().toString(36)}`;
    const warm = await env.startJob({ name: `${prefix}-warmup`, script: { durationMs: 100 } });
    await env.waitForExecution(warm, 30_000);
    const idleRss = await waitForSteadyRss(env.worker.pid);
    const peakResetByKernel = resetPeakRss(env.worker.pid);
    env.worker.resetSampling();

    const cpuAtStart = readCpuSeconds(env.worker.pid);
    const runStartMs = performance.now();
    // The stack (Step Functions, the API server) shares this process's event loop: if it stalls,
    // heartbeats and connections stall with it, and the figures would blame the worker.
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const names = Array.from({ length: tasks }, (_, i) => `${prefix}-${i}`);
    const dispatchStartMs = performance.now();
    let maxHeld = 0;
    let sampling = true;
    const heldSampler = (async () => {
      let lastReportMs = performance.now();
      while (sampling) {
        const held = countHeld(env);
        maxHeld = Math.max(maxHeld, held);
        if (performance.now() - lastReportMs >= 15_000) {
          lastReportMs = performance.now();
          const rss = toMiB(readMemory(env.worker.pid)?.rssBytes ?? 0);
          console.log(
            `  ${Math.round((lastReportMs - runStartMs) / 1000)} s: ${env.recorder.tasks.size - 1} handed out, ${held} held, worker RSS ${rss} MiB`,
          );
        }
        await sleep(250);
      }
    })();
    const arns = await runPool(names, 25, (name) =>
      env.startJob({ name, script: { durationMs: jobRunMs } }),
    );
    // Handing out must finish before the first Jobs end, or the tasks were never all held.
    const dispatchDeadline = Date.now() + jobRunMs;
    while (names.some((name) => env.recorder.taskForJob(name) === undefined)) {
      if (Date.now() > dispatchDeadline) {
        const handed = names.filter((name) => env.recorder.taskForJob(name)).length;
        console.error(
          `only ${handed} of ${tasks} tasks handed out ${jobRunMs} ms after the last start`,
        );
        break;
      }
      await sleep(50);
    }
    const lastDelivered = Math.max(
      ...names.map((name) => env.recorder.taskForJob(name)?.deliveredAtMs ?? 0),
    );
    let unanswered = 0;
    try {
      await env.waitForAnswers(names, jobRunMs + 120_000);
    } catch (error) {
      console.error((error as Error).message);
      unanswered = names.filter(
        (n) => env.recorder.taskForJob(n)?.answeredAtMs === undefined,
      ).length;
    }
    loopDelay.disable();
    const workerCpuSeconds = readCpuSeconds(env.worker.pid) - cpuAtStart;
    const runWallSeconds = (performance.now() - runStartMs) / 1000;
    sampling = false;
    await heldSampler;
    const peakRss = Math.max(
      peakResetByKernel ? (readMemory(env.worker.pid)?.peakRssBytes ?? 0) : 0,
      env.worker.sampledPeakRssBytes(),
    );

    const executions = await runPool(arns, 25, (arn) =>
      env
        .waitForExecution(arn, unanswered > 0 ? 1 : 30_000)
        .catch(() => ({ status: 'RUNNING' }) as { status: string; error?: string; cause?: string }),
    );
    const failures: Record<string, number> = {};
    const failureExamples: Record<string, string> = {};
    let heartbeatTimeouts = 0;
    for (const execution of executions) {
      if (execution.status === 'SUCCEEDED') continue;
      const key = `${execution.status}:${execution.error ?? ''}`;
      if (execution.error === 'States.HeartbeatTimeout') heartbeatTimeouts += 1;
      else {
        failures[key] = (failures[key] ?? 0) + 1;
        failureExamples[key] ??= (execution.cause ?? '').slice(0, 400);
      }
    }

    if (process.env.BENCH_DUMP_TASKS) {
      writeFileSync(
        process.env.BENCH_DUMP_TASKS,
        JSON.stringify({
          runStartMs,
          tasks: names.map((name) => env.recorder.taskForJob(name)),
          jobEnded: names.map((name) => env.jobEndedAtMs.get(name)),
        }),
      );
    }
    const gaps: number[] = [];
    let heartbeats = 0;
    let late = 0;
    let refused = 0;
    for (const name of names) {
      const task = env.recorder.taskForJob(name);
      if (!task) continue;
      heartbeats += task.heartbeatsAtMs.length;
      refused += task.refusedHeartbeats.length;
      let previous = task.deliveredAtMs;
      for (const at of task.heartbeatsAtMs) {
        const gap = at - previous;
        gaps.push(gap);
        if (gap > heartbeatIntervalMs + lateSlackMs) late += 1;
        previous = at;
      }
      // A heartbeat that never came: the answer arrived after the interval plus slack elapsed.
      const end = task.answeredAtMs ?? performance.now();
      if (end - previous > heartbeatIntervalMs + lateSlackMs) late += 1;
    }

    return {
      tasks,
      succeeded: executions.filter((e) => e.status === 'SUCCEEDED').length,
      heartbeatTimeouts,
      otherFailures: failures,
      failureExamples,
      jobRunMs,
      heartbeatIntervalMs,
      heartbeatSeconds,
      dispatchMs: Math.round(lastDelivered - dispatchStartMs),
      maxHeldTasks: maxHeld,
      heartbeats,
      lateHeartbeats: late,
      refusedHeartbeats: refused,
      heartbeatGapMs: {
        median: Math.round(percentile(gaps, 50)),
        p99: Math.round(percentile(gaps, 99)),
        max: Math.round(percentile(gaps, 100)),
      },
      unanswered,
      workerCpuSeconds: Math.round(workerCpuSeconds * 10) / 10,
      runWallSeconds: Math.round(runWallSeconds),
      benchEventLoopDelayMs: {
        p99: Math.round(loopDelay.percentile(99) / 1e6),
        max: Math.round(loopDelay.max / 1e6),
      },
      workerHeapMiB: workerHeapMiB > 0 ? workerHeapMiB : null,
      idleRssMiB: toMiB(idleRss),
      perTaskKiB: Math.round((peakRss - idleRss) / 1024 / tasks),
      peakRssMiB: toMiB(peakRss),
      sampledPeakRssMiB: toMiB(env.worker.sampledPeakRssBytes()),
      peakResetByKernel,
    };
  } finally {
    await env.close();
  }
};
