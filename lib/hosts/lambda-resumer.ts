/**
 * The Lambda resumer host: a carrier (lib/worker/carrier.ts) for the length of one invocation.
 * The SQS event source starts it when parked waits are in the hand-off queue and gives it a batch
 * of them; it carries those, and receives more itself while it has room (`maxCarriedTasks`), so a
 * few invocations carry thousands of waits instead of ten each. Before the invocation ends it
 * hands every wait back to the queue (a new message with the newest checkpoint, so a task outlives
 * any number of invocations without counting towards the dead-letter queue), and the event source
 * starts the next invocation. It ends early once it carries nothing and the queue is empty.
 *
 * Capacity: `resumerMaximumConcurrency` x `EKS_WORKER_MAX_CARRIED_TASKS` waits at once. A crashed
 * invocation loses no task: its leases (shortened to `EKS_WORKER_LEASE_SECONDS` on receipt) run
 * out and another carrier takes the messages. Knows nothing of middy: `functions/resumer.ts` wraps
 * it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerConfig } from '../config.ts';
import type { Integration } from '../integrations/types.ts';
import { startCarrier } from '../worker/carrier.ts';
import {
  type ActivityApi,
  type Clock,
  type LeaseQueue,
  systemClock,
  type TaskObserver,
} from '../worker/ports.ts';
import { makeTaskRunnerEnvironment } from '../worker/worker.ts';
import { makeWorkerOptions } from './compose.ts';
import {
  computeWorkWindowMs,
  type InvocationClock,
  readInvocationBudget,
} from './lambda-window.ts';

/** The fields of an SQS event record the resumer reads. */
export interface SqsRecordLike {
  readonly messageId: string;
  readonly body: string;
  /** The receipt: renews the record's lease, hands it back, deletes it. */
  readonly receiptHandle: string;
  readonly attributes?: { readonly ApproximateReceiveCount?: string };
}

/** Lambda's partial batch response (`ReportBatchItemFailures`). */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Everything one resumer invocation needs. */
export interface ResumerInvocationOptions {
  readonly config: WorkerConfig;
  readonly integrations: readonly Integration[];
  readonly activityApi: ActivityApi;
  readonly logger: Logger;
  readonly context: InvocationClock;
  /** The hand-off queue: records' leases, more waits, and where waits go back at the end. */
  readonly queue: LeaseQueue;
  readonly observer?: TaskObserver;
  /**
   * Told how many waits this invocation carries, every `carriedReportIntervalMs` while it runs,
   * so the stage's carried waits are seen while invocations last (up to 15 minutes).
   */
  readonly reportCarried?: (carried: number) => void;
  /** @default carriedReportIntervalMs (one CloudWatch alarm period) */
  readonly carriedReportIntervalMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** How often an invocation reports the waits it carries: a CloudWatch alarm period. */
export const carriedReportIntervalMs = 60_000;

/**
 * Carries the batch's waits, and more from the queue, until the work window ends or nothing is
 * left; then hands what is still waiting back to the queue. Reports as batch item failures the
 * records the event source must not delete: unreadable ones (they go to the dead-letter queue
 * after maxReceiveCount), ones whose lease moved to another carrier, and answers not delivered.
 */
export const resumeHandedOffTasks = async (
  records: readonly SqsRecordLike[],
  options: ResumerInvocationOptions,
): Promise<BatchResponse> => {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const startedAtMs = clock.now();
  const workWindowMs = computeWorkWindowMs(
    options.context.getRemainingTimeInMillis(),
    readInvocationBudget(config),
  );
  const carrier = startCarrier({
    queue: options.queue,
    integrations: options.integrations,
    environment: makeTaskRunnerEnvironment(
      makeWorkerOptions(config, 'lambda-resumer'),
      {
        activityApi: options.activityApi,
        clock,
        random,
        logger,
        ...(options.observer ? { observer: options.observer } : {}),
      },
      new AbortController().signal,
    ),
    leaseSeconds: config.leaseSeconds,
    maxCarriedTasks: config.maxCarriedTasks,
    receive: true,
    receiveUntilMs: startedAtMs + workWindowMs,
    endWhenIdle: true,
    carryAnswers: true,
    logger,
    clock,
    random,
  });
  const results = carrier.carry(
    records.map((record) => ({
      messageId: record.messageId,
      body: record.body,
      receiptHandle: record.receiptHandle,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1) || 1,
    })),
  );
  const windowTimer = new AbortController();
  void clock.sleep(workWindowMs, windowTimer.signal).then(() => {
    if (!windowTimer.signal.aborted) void carrier.stop();
  });
  const reportCarried = (): void => {
    try {
      options.reportCarried?.(carrier.carriedCount);
    } catch (error) {
      logger.warn('Reporting the carried waits failed', { errorName: (error as Error).name });
    }
  };
  void (async () => {
    while (!windowTimer.signal.aborted) {
      await clock.sleep(
        options.carriedReportIntervalMs ?? carriedReportIntervalMs,
        windowTimer.signal,
      );
      if (!windowTimer.signal.aborted) reportCarried();
    }
  })();
  try {
    await carrier.stopped;
  } finally {
    windowTimer.abort();
  }
  const settled = await Promise.all(results);
  const failures = records.filter((_record, index) => settled[index] !== 'done');
  logger.info('Resumer invocation ended', {
    records: records.length,
    recordsLeftInQueue: failures.length,
    durationMs: clock.now() - startedAtMs,
  });
  return { batchItemFailures: failures.map((record) => ({ itemIdentifier: record.messageId })) };
};
