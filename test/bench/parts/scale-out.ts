/**
 * Scale-out: several worker processes serve the same activity (what users do when one machine is
 * not enough: more replicas, more Lambda pollers). Every execution must end exactly once with its
 * own output, no task may be taken or answered twice, and the work must spread over the
 * processes. Each worker talks to Step Functions through its own recording proxy, so the bench
 * sees on the wire which process took and answered each task.
 */
import { startBenchEnv } from '../bench-env.ts';
import { runPool } from '../stats.ts';
import type { WorkerRunMode } from '../worker-process.ts';

export interface ScaleOutOptions {
  mode: WorkerRunMode;
  bundlePath?: string;
  /** @default 4 */
  workers?: number;
  /** @default 2000 */
  executions?: number;
  /** Each Job's run time. @default 200 */
  jobRunMs?: number;
  /** Slots per worker. @default 50 */
  maxConcurrentTasks?: number;
}

export interface ScaleOutResult {
  workers: number;
  executions: number;
  succeeded: number;
  /** Executions whose output is not their own Job, complete. */
  wrongOutputs: number;
  /** Tasks handed to more than one process, or to one process twice. */
  takenTwice: number;
  /** Tasks Step Functions accepted more than one answer for (all processes together). */
  answeredTwice: number;
  /** Answers sent again after an attempt whose outcome the worker could not see (refused). */
  answerRetries: number;
  /** Executions that did not succeed, by `status:error`, with one cause each. */
  failures: Record<string, number>;
  failureExamples: Record<string, string>;
  /** Tasks never answered. */
  unanswered: number;
  /** Tasks each process took, and its share in percent. */
  perWorker: { tasks: number; sharePercent: number }[];
  wallSeconds: number;
  executionsPerSecond: number;
}

interface JobOutput {
  metadata?: { name?: string };
  status?: { conditions?: { type?: string; status?: string }[] };
}

export const runScaleOut = async (options: ScaleOutOptions): Promise<ScaleOutResult> => {
  const workers = options.workers ?? 4;
  const executions = options.executions ?? 2_000;
  const jobRunMs = options.jobRunMs ?? 200;
  const env = await startBenchEnv({
    mode: options.mode,
    ...(options.bundlePath ? { bundlePath: options.bundlePath } : {}),
    heartbeatIntervalMs: 20_000,
    heartbeatSeconds: 60,
    maxConcurrentTasks: options.maxConcurrentTasks ?? 50,
    pollersPerActivity: 4,
    longPollHoldMs: 5_000,
    workers,
  });
  try {
    const prefix = `scale${Date.now().toString(36)}`;
    const names = Array.from({ length: executions }, (_, i) => `${prefix}-${i}`);
    const startedMs = performance.now();
    const arns = await runPool(names, 25, (name) =>
      env.startJob({ name, script: { durationMs: jobRunMs } }),
    );
    await env.waitForAnswers(names, 600_000).catch((error: Error) => console.error(error.message));
    const wallMs = performance.now() - startedMs;

    const described = await runPool(arns, 25, (arn) => env.waitForExecution(arn, 30_000));
    let wrongOutputs = 0;
    const failures: Record<string, number> = {};
    const failureExamples: Record<string, string> = {};
    described.forEach((execution, index) => {
      if (execution.status !== 'SUCCEEDED') {
        const key = `${execution.status}:${execution.error ?? ''}`;
        failures[key] = (failures[key] ?? 0) + 1;
        failureExamples[key] ??= (execution.cause ?? '').slice(0, 400);
        return;
      }
      const output = JSON.parse(execution.output ?? '{}') as JobOutput;
      const complete = output.status?.conditions?.some(
        (c) => c.type === 'Complete' && c.status === 'True',
      );
      if (output.metadata?.name !== names[index] || !complete) wrongOutputs += 1;
    });

    const nameSet = new Set(names);
    const perWorkerTasks = env.workers.map(({ recorder }) => {
      let tasks = 0;
      for (const task of recorder.tasks.values()) {
        if (task.jobName !== undefined && nameSet.has(task.jobName)) tasks += 1;
      }
      return tasks;
    });
    // Delivered (keyed by token) across every proxy, per Job name.
    const deliveries = new Map<string, number>();
    const answers = new Map<string, number>();
    const accepted = new Map<string, number>();
    let answerRetries = 0;
    for (const { recorder } of env.workers) {
      for (const task of recorder.tasks.values()) {
        if (task.jobName === undefined || !nameSet.has(task.jobName)) continue;
        deliveries.set(task.jobName, (deliveries.get(task.jobName) ?? 0) + 1);
        answers.set(task.jobName, (answers.get(task.jobName) ?? 0) + task.answers);
        accepted.set(task.jobName, (accepted.get(task.jobName) ?? 0) + task.acceptedAnswers);
        answerRetries += task.answers - task.acceptedAnswers;
      }
    }
    const total = perWorkerTasks.reduce((sum, n) => sum + n, 0);
    return {
      workers,
      executions,
      succeeded: described.filter((e) => e.status === 'SUCCEEDED').length,
      wrongOutputs,
      takenTwice: [...deliveries.values()].filter((n) => n > 1).length,
      answeredTwice: [...accepted.values()].filter((n) => n > 1).length,
      answerRetries,
      failures,
      failureExamples,
      unanswered: names.filter((name) => (answers.get(name) ?? 0) === 0).length,
      perWorker: perWorkerTasks.map((tasks) => ({
        tasks,
        sharePercent: total === 0 ? 0 : Math.round((tasks / total) * 1000) / 10,
      })),
      wallSeconds: Math.round(wallMs / 100) / 10,
      executionsPerSecond: Math.round((executions / (wallMs / 1000)) * 10) / 10,
    };
  } finally {
    await env.close();
  }
};
