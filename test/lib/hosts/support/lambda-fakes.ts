/** In-memory stand-ins for the Lambda hosts' ports: a countdown context and a hand-off queue. */
import { loadConfig, type WorkerConfig } from '../../../../lib/config.ts';
import type { HandOffQueue } from '../../../../lib/worker/ports.ts';

/** A Lambda context whose remaining time counts down in real time from `remainingMs`. */
export const makeCountdownContext = (remainingMs: number) => {
  const deadlineMs = Date.now() + remainingMs;
  return {
    deadlineMs,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
};

/** A queue that keeps what it was sent, or fails the next sends when told to. */
export class MemoryQueue implements HandOffQueue {
  readonly sent: { body: string; delaySeconds: number }[] = [];
  readonly visibilityChanges: { receiptHandle: string; visibilitySeconds: number }[] = [];
  failures = 0;
  visibilityFailures = 0;

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
      requeueDelaySeconds: 1,
      ...overrides,
    },
  );
