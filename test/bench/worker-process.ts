/**
 * The worker as production runs it: `lib/hosts/process-main.ts` bundled by `npm run build`
 * (infra/build/build-worker.ts) and started with plain `node` in its own process, so its memory
 * is its own (the local stack and the bench live in the parent). Memory comes from /proc (Linux): `VmHWM` is the kernel's own peak RSS, and
 * `VmRSS` is sampled to see the shape over time and to reset the baseline between phases.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildWorker } from '../../infra/build/build-worker.ts';

export type WorkerRunMode = 'bundle' | 'tsx';

/** Bundles the process host into one ESM file, as `npm run build` does; returns its path. */
export const bundleWorker = async (): Promise<string> =>
  buildWorker(join(mkdtempSync(join(tmpdir(), 'eks-worker-bench-')), 'worker.mjs'));

export interface MemoryReading {
  rssBytes: number;
  peakRssBytes: number;
}

/** Reads `VmRSS` and `VmHWM` of a process; undefined once it is gone. */
export const readMemory = (pid: number): MemoryReading | undefined => {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssBytes: kib('VmRSS') * 1024, peakRssBytes: kib('VmHWM') * 1024 };
};

/**
 * Resets the kernel's peak-RSS mark to the current RSS (writing 5 to clear_refs, Linux >= 4.0), so
 * a phase's `VmHWM` is that phase's own. Returns false when not allowed (then sampling decides).
 */
export const resetPeakRss = (pid: number): boolean => {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
};

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Peak of the sampled `VmRSS` since the last {@link WorkerProcess.resetSampling}. */
  sampledPeakRssBytes(): number;
  resetSampling(): void;
  /** The last lines the worker wrote to stderr/stdout (for a failure report). */
  tail(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface StartWorkerProcessOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  env: Record<string, string>;
  /** @default 100 */
  sampleIntervalMs?: number;
}

/** Starts the worker and samples its RSS until it exits. */
export const startWorkerProcess = (options: StartWorkerProcessOptions): WorkerProcess => {
  // BENCH_WORKER_NODE_ARGS passes node flags NODE_OPTIONS refuses, e.g. to profile the worker:
  // BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench -- concurrency
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [
    ...nodeArgs,
    ...(options.mode === 'bundle'
      ? [options.bundlePath ?? '']
      : ['--import', 'tsx', 'lib/hosts/process-main.ts']),
  ];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('the worker process did not start');
  const pid = child.pid;
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 50) lines.splice(0, lines.length - 50);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  let peak = 0;
  const sampler = setInterval(() => {
    const reading = readMemory(pid);
    if (reading && reading.rssBytes > peak) peak = reading.rssBytes;
  }, options.sampleIntervalMs ?? 100);
  void exited.then(() => clearInterval(sampler));

  return {
    child,
    pid,
    sampledPeakRssBytes: () => peak,
    resetSampling: () => {
      peak = readMemory(pid)?.rssBytes ?? 0;
    },
    tail: () => lines.join('\n'),
    stop: async (timeoutMs = 15_000) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
};

/** Waits until the worker's RSS stops moving (within `toleranceBytes` over `windowMs`). */
export const waitForSteadyRss = async (
  pid: number,
  { windowMs = 2_000, toleranceBytes = 1024 * 1024, timeoutMs = 20_000 } = {},
): Promise<number> => {
  const deadline = Date.now() + timeoutMs;
  let last = readMemory(pid)?.rssBytes ?? 0;
  for (;;) {
    await sleep(windowMs);
    const now = readMemory(pid)?.rssBytes ?? 0;
    if (Math.abs(now - last) <= toleranceBytes || Date.now() > deadline) return now;
    last = now;
  }
};
