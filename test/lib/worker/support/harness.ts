/** Builds a worker over the fake API with short timings, and integrations tests can steer. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Integration, TaskContext } from '../../../../lib/integrations/types.ts';
import type { HandOff } from '../../../../lib/worker/ports.ts';
import { startWorker, type Worker, type WorkerOptions } from '../../../../lib/worker/worker.ts';
import { FakeActivityApi } from './fake-activity-api.ts';

export const silentLogger = (): Logger => new Logger({ logLevel: 'SILENT' });

export const activityArn = (name: string): string =>
  `arn:aws:states:us-east-1:123456789012:activity:${name}`;

/** One call of an integration, with a way for the test to finish it. */
export interface RunCall {
  input: unknown;
  context: TaskContext;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** An integration whose runs wait until the test resolves them (or `behaviour` decides). */
export class ControlledIntegration implements Integration {
  readonly activitySuffix: string;
  outputTooLargeAdvice?: string;
  readonly calls: RunCall[] = [];
  running = 0;
  maxRunning = 0;
  readonly #behaviour: ((input: unknown, context: TaskContext) => Promise<unknown>) | undefined;
  readonly #callWaiters = new Set<() => void>();

  constructor(
    activitySuffix: string,
    behaviour?: (input: unknown, context: TaskContext) => Promise<unknown>,
  ) {
    this.activitySuffix = activitySuffix;
    this.#behaviour = behaviour;
  }

  async run(input: unknown, context: TaskContext): Promise<unknown> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const { promise, resolve, reject } = makeDeferred<unknown>();
      this.calls.push({ input, context, resolve, reject });
      for (const waiter of this.#callWaiters) waiter();
      return await (this.#behaviour ? this.#behaviour(input, context) : promise);
    } finally {
      this.running -= 1;
    }
  }

  /** Resolves when `count` runs have started; rejects after `timeoutMs`. */
  async waitForCalls(count: number, timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.calls.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${count} runs (got ${this.calls.length})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10);
        this.#callWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export const makeDeferred = <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** Resolves after `delayMs`. */
export const delay = (delayMs: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, delayMs));

/** Rejects if `promise` takes longer than `timeoutMs`, so a bug fails fast instead of hanging. */
export const withTimeout = async <T>(promise: Promise<T>, timeoutMs = 2_000): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

export interface Harness {
  api: FakeActivityApi;
  worker: Worker;
}

/** Starts a worker with fast timings; every option can be overridden. */
export const startTestWorker = (
  integrations: readonly Integration[],
  options: Partial<WorkerOptions> = {},
  extra: { api?: FakeActivityApi; handOff?: HandOff } = {},
): Harness => {
  const api = extra.api ?? new FakeActivityApi({ longPollMs: 30 });
  const worker = startWorker(
    {
      activityArns: integrations.map((integration) =>
        activityArn(`test-${integration.activitySuffix}`),
      ),
      workerName: 'test-worker',
      maxConcurrentTasks: 4,
      pollersPerActivity: 1,
      heartbeatIntervalMs: 1_000,
      cleanupOnAbandon: true,
      pollBackoff: { baseDelayMs: 1, maxDelayMs: 5 },
      heartbeatRetryBackoff: { baseDelayMs: 1, maxDelayMs: 5 },
      answerRetry: { baseDelayMs: 1, maxDelayMs: 5, maxElapsedMs: 1_000 },
      abortSettleMs: 100,
      ...options,
    },
    {
      activityApi: api,
      integrations,
      logger: silentLogger(),
      ...(extra.handOff ? { handOff: extra.handOff } : {}),
    },
  );
  return { api, worker };
};
