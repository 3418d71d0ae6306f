/**
 * The worker as production runs it: `lib/hosts/process-main.ts` bundled by `npm run build`
 * (infra/build/build-worker.ts) and started with plain `node` in its own process, so its memory
 * is its own (the local stack and the bench live in the parent). Memory comes from /proc (Linux): `VmHWM` is the kernel's own peak RSS, and
 * `VmRSS` is sampled to see the shape over time and to reset the baseline between phases.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** User+system CPU seconds of a process so far (Linux /proc; clock ticks are 100 Hz there). */
export const readCpuSeconds = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
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
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string | null>;
  /**
   * Resolves with the first line (stdout or stderr, from now on) `matches` accepts; rejects after
   * `timeoutMs` or when the process exits first.
   */
  waitForLine(matches: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

export interface StartWorkerProcessOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  env: Record<string, string>;
  /** @default 100 */
  sampleIntervalMs?: number;
  /** Appends everything the worker writes (stdout and stderr) to this file too. */
  logFile?: string;
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
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const lineListeners = new Set<(line: string) => void>();
  // Per stream: a chunk may end inside a line; listeners get whole lines only.
  const keeper = () => {
    let partial = '';
    return (chunk: Buffer) => {
      log?.write(chunk);
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      const whole = parts.filter(Boolean);
      lines.push(...whole);
      if (lines.length > 50) lines.splice(0, lines.length - 50);
      for (const line of whole) for (const listener of lineListeners) listener(line);
    };
  };
  child.stdout?.on('data', keeper());
  child.stderr?.on('data', keeper());
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const exitedWith = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  void exitedWith.then(() => log?.end());

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
    exited: exitedWith,
    waitForLine: (matches, timeoutMs) =>
      new Promise((resolve, reject) => {
        const done = (action: () => void) => {
          lineListeners.delete(listener);
          clearTimeout(timer);
          action();
        };
        const listener = (line: string) => {
          if (matches(line)) done(() => resolve(line));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(new Error(`no such line after ${timeoutMs} ms:\n${lines.join('\n')}`)),
            ),
          timeoutMs,
        );
        lineListeners.add(listener);
        void exitedWith.then((code) =>
          done(() => reject(new Error(`the worker exited (${code}) first:\n${lines.join('\n')}`))),
        );
      }),
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
