/**
 * Kubernetes API requests per Job when Jobs run long: 500 `runJob.sync` tasks at once, each Job
 * running 10 minutes, with the worker's stuck-watch fallback at its default of one re-list a
 * minute (EKS_WORKER_JOB_POLL_INTERVAL_MS=60000).
 *
 * Time is scaled, by default 1/10: 60 s Jobs with a 6 s re-list interval. What grows with a Job's
 * length is the fallback (re-lists: Job run time / interval of them, shared by every Job in the
 * namespace); scaling both by the same factor keeps that count per Job. Not scaled: dispatching
 * the 500 tasks (a few seconds, so the scaled run holds its Jobs relatively longer and counts
 * more re-lists than 10 real minutes would: conservative) and the watch's 300 s server timeout
 * (10 real minutes re-open each of the 2 watches about twice: + ~4 requests, 0.008 per Job, added
 * to the projection printed). `--scale=1` runs the real 10 minutes.
 */

import { startBenchEnv } from '../bench-env.ts';
import { installKubeRequestCounter } from '../kube-request-counter.ts';
import { runPool } from '../stats.ts';
import type { WorkerRunMode } from '../worker-process.ts';

export interface LongJobsOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  /** @default 500 */
  jobs?: number;
  /** The Job length and re-list interval being represented. @default 600000 and 60000 */
  realJobRunMs?: number;
  realResyncIntervalMs?: number;
  /** Time factor: 10 runs everything 10 times faster. @default 10 */
  scale?: number;
}

export interface LongJobsResult {
  jobs: number;
  succeeded: number;
  scale: number;
  /** What was run: Job length and re-list interval after scaling. */
  jobRunMs: number;
  resyncIntervalMs: number;
  /** What that represents. */
  representsJobRunMs: number;
  representsResyncIntervalMs: number;
  /** First StartExecution to the last answer. */
  wallSeconds: number;
  totalRequests: number;
  byKind: Record<string, number>;
  requestsPerJob: number;
  /** Watch re-opens the scaled run could not show (300 s server timeout), per Job. */
  unscaledWatchReopensPerJob: number;
  /** requestsPerJob + unscaledWatchReopensPerJob. */
  projectedRequestsPerJob: number;
}

/** The watch's server-side timeout (lib/kube/shared-watch.ts), which the scaling leaves alone. */
const watchTimeoutMs = 300_000;
/** One Job watch and one pod watch per namespace. */
const sharedWatches = 2;

export const runLongJobs = async (options: LongJobsOptions): Promise<LongJobsResult> => {
  const jobs = options.jobs ?? 500;
  const scale = options.scale ?? 10;
  const representsJobRunMs = options.realJobRunMs ?? 600_000;
  const representsResyncIntervalMs = options.realResyncIntervalMs ?? 60_000;
  const jobRunMs = Math.round(representsJobRunMs / scale);
  const resyncIntervalMs = Math.round(representsResyncIntervalMs / scale);
  const counter = installKubeRequestCounter();
  const env = await startBenchEnv({
    mode: options.mode,
    ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
    heartbeatIntervalMs: 20_000,
    heartbeatSeconds: 60,
    maxConcurrentTasks: jobs + 100,
    pollersPerActivity: 4,
    longPollHoldMs: 5_000,
    workerEnv: { EKS_WORKER_JOB_POLL_INTERVAL_MS: String(resyncIntervalMs) },
  });
  try {
    const prefix = `long${Date.now().toString(36)}`;
    const warm = await env.startJob({ name: `${prefix}-warmup`, script: { durationMs: 100 } });
    await env.waitForExecution(warm, 30_000);
    // The namespace then holds exactly the Jobs being waited on (a re-list costs one request
    // per 500 Jobs in the namespace, so leftovers would be counted against these).
    env.stack.cluster.store.delete(
      { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
      'default',
      `${prefix}-warmup`,
      { propagationPolicy: 'Background' },
    );
    counter.reset();
    const startedMs = performance.now();
    const names = Array.from({ length: jobs }, (_, i) => `${prefix}-${i}`);
    const arns = await runPool(names, 25, (name) =>
      env.startJob({ name, script: { durationMs: jobRunMs } }),
    );
    await env.waitForAnswers(names, jobRunMs + 180_000);
    const wallMs = performance.now() - startedMs;
    const totalRequests = counter.total();
    const byKind = counter.counts();
    const executions = await runPool(arns, 25, (arn) => env.waitForExecution(arn, 30_000));
    const requestsPerJob = Math.round((totalRequests / jobs) * 1000) / 1000;
    const unscaledWatchReopensPerJob =
      Math.round(
        ((sharedWatches * Math.floor(representsJobRunMs / watchTimeoutMs)) / jobs) * 1000,
      ) / 1000;
    return {
      jobs,
      succeeded: executions.filter((e) => e.status === 'SUCCEEDED').length,
      scale,
      jobRunMs,
      resyncIntervalMs,
      representsJobRunMs,
      representsResyncIntervalMs,
      wallSeconds: Math.round(wallMs / 1000),
      totalRequests,
      byKind,
      requestsPerJob,
      unscaledWatchReopensPerJob,
      projectedRequestsPerJob:
        Math.round((requestsPerJob + unscaledWatchReopensPerJob) * 1000) / 1000,
    };
  } finally {
    await env.close();
    counter.uninstall();
  }
};
