/**
 * Latency from a Job's terminal condition (committed in the cluster's store) to the worker's
 * `SendTaskSuccess` reaching Step Functions (the recording proxy), and Kubernetes API requests per
 * Job over the same run.
 */
import { type BenchEnv, startBenchEnv } from '../bench-env.ts';
import { installKubeRequestCounter } from '../kube-request-counter.ts';
import { runPool, type Summary, summarize } from '../stats.ts';
import type { WorkerRunMode } from '../worker-process.ts';

export interface LatencyOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  /** @default 100 */
  jobs?: number;
  /** Executions running at once. @default 20 */
  concurrency?: number;
}

export interface LatencyResult {
  jobs: number;
  succeeded: number;
  concurrency: number;
  jobRunMs: { min: number; max: number };
  /** Job terminal condition -> SendTaskSuccess received. */
  completeToAnswer: Summary;
  /** Execution start -> SendTaskSuccess, for context (includes the Job's own run time). */
  startToAnswer: Summary;
  kubeApi: {
    /** Every request the API server received (counted at arrival). */
    totalRequests: number;
    requestsPerJob: number;
    /** Request kind -> requests per Job. */
    perJobByKind: Record<string, number>;
    /**
     * The API server's own counters (`cluster.requests`), for comparison: they record on the
     * response's `finish`, so requests the client hung up on (ended watches) are missing.
     */
    serverCountersTotal: number;
    serverCounters: Record<string, number>;
  };
}

const warmUp = async (env: BenchEnv, prefix: string): Promise<void> => {
  // The first task pays for the EKS look-up, token signing and TLS: not what a steady worker sees.
  const name = `${prefix}-warmup`;
  const arn = await env.startJob({ name, script: { durationMs: 100 } });
  await env.waitForExecution(arn, 30_000);
};

export const runLatency = async (options: LatencyOptions): Promise<LatencyResult> => {
  const jobs = options.jobs ?? 100;
  const concurrency = options.concurrency ?? 20;
  const counter = installKubeRequestCounter();
  const env = await startBenchEnv({
    mode: options.mode,
    ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
    heartbeatIntervalMs: 3_000,
    heartbeatSeconds: 10,
    maxConcurrentTasks: 600,
    pollersPerActivity: 2,
    longPollHoldMs: 5_000,
  });
  try {
    const prefix = `lat${Date.now().toString(36)}`;
    await warmUp(env, prefix);
    env.stack.cluster.requests.reset();
    counter.reset();
    // Spread 300..799 ms deterministically, so runs are comparable.
    const runMs = Array.from({ length: jobs }, (_, i) => 300 + ((i * 197) % 500));
    const startedAtMs = new Map<string, number>();
    const executions = await runPool(runMs, concurrency, async (durationMs, i) => {
      const name = `${prefix}-${i}`;
      startedAtMs.set(name, performance.now());
      const arn = await env.startJob({ name, script: { durationMs } });
      await env.waitForAnswers([name], 60_000);
      return { name, execution: await env.waitForExecution(arn, 30_000) };
    });
    const kinds = counter.counts();
    const totalRequests = counter.total();

    const completeToAnswer: number[] = [];
    const startToAnswer: number[] = [];
    for (const { name } of executions) {
      const endedAt = env.jobEndedAtMs.get(name);
      const answeredAt = env.recorder.taskForJob(name)?.answeredAtMs;
      const startedAt = startedAtMs.get(name);
      if (endedAt === undefined || answeredAt === undefined || startedAt === undefined) continue;
      completeToAnswer.push(answeredAt - endedAt);
      startToAnswer.push(answeredAt - startedAt);
    }
    const perJobByKind = Object.fromEntries(
      Object.entries(kinds).map(([kind, count]) => [kind, Math.round((count / jobs) * 100) / 100]),
    );
    return {
      jobs,
      succeeded: executions.filter((e) => e.execution.status === 'SUCCEEDED').length,
      concurrency,
      jobRunMs: { min: Math.min(...runMs), max: Math.max(...runMs) },
      completeToAnswer: summarize(completeToAnswer),
      startToAnswer: summarize(startToAnswer),
      kubeApi: {
        totalRequests,
        requestsPerJob: Math.round((totalRequests / jobs) * 100) / 100,
        perJobByKind,
        serverCountersTotal: env.stack.cluster.requests.total(),
        serverCounters: env.stack.cluster.requests.snapshot(),
      },
    };
  } finally {
    await env.close();
    counter.uninstall();
  }
};
