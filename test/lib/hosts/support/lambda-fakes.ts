/**
 * In-memory stand-ins for the Lambda hosts' ports (a countdown context, a hand-off queue) and a
 * runtime composed over them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig, type WorkerConfig } from '../../../../lib/config.ts';
import { composeWorker } from '../../../../lib/hosts/compose.ts';
import type { LambdaRuntime } from '../../../../lib/hosts/lambda-runtime.ts';
import type { Integration } from '../../../../lib/integrations/types.ts';
import type {
  ActivityApi,
  LeaseChangeFailure,
  LeasedMessage,
  LeaseQueue,
} from '../../../../lib/worker/ports.ts';

/** A Lambda context whose remaining time counts down in real time from `remainingMs`. */
export const makeCountdownContext = (remainingMs: number) => {
  const deadlineMs = Date.now() + remainingMs;
  return {
    deadlineMs,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
};

/**
 * A queue that keeps what it was sent, or fails the next sends when told to. Receives hand out
 * each sent message once, with no visibility timing (tests of leases use the local SQS:
 * test/support/local-lease-queue.ts).
 */
export class MemoryQueue implements LeaseQueue {
  readonly sent: { body: string; delaySeconds: number }[] = [];
  readonly visibilityChanges: { receiptHandle: string; visibilitySeconds: number }[] = [];
  readonly deleted: string[] = [];
  failures = 0;
  visibilityFailures = 0;
  #received = 0;

  async receive(options: { maxMessages: number }): Promise<LeasedMessage[]> {
    await Promise.resolve();
    const taken = this.sent.slice(this.#received, this.#received + options.maxMessages);
    const first = this.#received;
    this.#received += taken.length;
    return taken.map((entry, index) => ({
      messageId: `m${first + index}`,
      body: entry.body,
      receiptHandle: `r${first + index}`,
      receiveCount: 1,
    }));
  }

  async changeVisibilities(
    entries: readonly { receiptHandle: string; visibilitySeconds: number }[],
  ): Promise<LeaseChangeFailure[]> {
    for (const entry of entries)
      await this.changeVisibility(entry.receiptHandle, entry.visibilitySeconds);
    return [];
  }

  async delete(receiptHandle: string): Promise<void> {
    await Promise.resolve();
    this.deleted.push(receiptHandle);
  }

  async send(body: string, options: { delaySeconds: number }): Promise<void> {
    await Promise.resolve();
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('queue unavailable (fake)'), { name: 'ServiceUnavailable' });
    }
    this.sent.push({ body, delaySeconds: options.delaySeconds });
  }

  async changeVisibility(receiptHandle: string, visibilitySeconds: number): Promise<void> {
    await Promise.resolve();
    if (this.visibilityFailures > 0) {
      this.visibilityFailures -= 1;
      throw Object.assign(new Error('queue unavailable (fake)'), { name: 'ServiceUnavailable' });
    }
    this.visibilityChanges.push({ receiptHandle, visibilitySeconds });
  }

  /** The messages sent so far, parsed. */
  messages(): Record<string, unknown>[] {
    return this.sent.map((entry) => JSON.parse(entry.body) as Record<string, unknown>);
  }
}

/** A configuration with budgets scaled down so an invocation lasts about a second. */
export const makeScaledConfig = (
  activityArns: string[],
  overrides: Partial<WorkerConfig> = {},
): WorkerConfig =>
  loadConfig(
    { AWS_REGION: 'us-east-1' },
    {
      activityArns,
      workerName: 'lambda-test',
      logLevel: 'SILENT',
      heartbeatIntervalMs: 1_000,
      pollersPerActivity: 1,
      longPollBudgetMs: 300,
      taskFinishBudgetMs: 200,
      handOffReserveMs: 200,
      ...overrides,
    },
  );

/**
 * A Lambda runtime as the composition root builds it, over in-memory ports: no Step Functions or
 * SQS client is made, and the hand-off (tasks and answers) goes to `handOffQueue` when given.
 */
export const makeTestRuntime = (parts: {
  config: WorkerConfig;
  activityApi: ActivityApi;
  integrations: readonly Integration[];
  metrics: Metrics;
  logger: Logger;
  handOffQueue?: LeaseQueue;
}): LambdaRuntime => ({
  ...composeWorker(parts.config, 'lambda-poller', {
    logger: parts.logger,
    activityApi: parts.activityApi,
    integrations: parts.integrations,
    ...(parts.handOffQueue ? { handOffQueue: parts.handOffQueue } : {}),
  }),
  metrics: parts.metrics,
});
