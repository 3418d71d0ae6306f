/**
 * A stand-in for Lambda's SQS event source mapping on a standard queue. Pollers gather batches
 * (batch-collector.ts) and invoke the function synchronously, one invocation per poller at a time,
 * so the number of pollers bounds the concurrency: it never exceeds `maximumConcurrency`, and at
 * that limit nothing more is received until an invocation ends.
 *
 * After an invocation: success deletes the batch, or under `ReportBatchItemFailures` every record
 * the answer does not list; an error, a timeout, a crashed sandbox, a throttle or a malformed
 * answer deletes nothing, so the batch comes back when its visibility timeout ends.
 *
 * Scaling, as Lambda describes it: a few pollers to start (5), more while batches come full (up
 * to 300 a minute), back to the starting number when polls come back empty, and, without
 * ReportBatchItemFailures, fewer after failed invocations (Lambda backs off on function errors).
 */
import { setMaxListeners } from 'node:events';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { BatchCollector } from './batch-collector.ts';
import { readBatchResponse } from './batch-response.ts';
import {
  checkQueueForFunction,
  type ResolvedEventSourceConfig,
  resolveEventSourceConfig,
  type SqsEventSourceConfig,
} from './event-source-config.ts';
import {
  deleteRecords,
  makeEventSourceClient,
  makeReceiver,
  readQueueAttributes,
  type SqsConnection,
} from './event-source-queue.ts';
import {
  type BatchSettlement,
  EventSourceRecorder,
  type EventSourceStats,
  type InvocationRecord,
} from './event-source-stats.ts';
import type { LocalLambdaFunction } from './local-function.ts';
import { type SqsEventRecord, toSqsEventRecord } from './sqs-records.ts';

/** What `startSqsEventSource` takes: the mapping's settings, the function and the queue. */
export interface SqsEventSourceOptions extends SqsEventSourceConfig {
  readonly function: LocalLambdaFunction;
  readonly sqs: SqsConnection;
  /** Called as each invocation is settled (for benchmarks that stream results). */
  readonly onInvocation?: (record: InvocationRecord) => void;
}

/** A running mapping. */
export interface SqsEventSource {
  readonly queueArn: string;
  readonly config: ResolvedEventSourceConfig;
  /** A copy of the counters and of every invocation so far. */
  stats(): EventSourceStats;
  /**
   * Stops receiving at once and starts no invocation after the call; resolves when the ones in
   * flight are settled. `force` kills their sandboxes instead (they end as crashed and delete
   * nothing). Records received but not yet invoked come back after their visibility timeout.
   */
  stop(options?: { force?: boolean }): Promise<void>;
}

/**
 * Validates the mapping as CreateEventSourceMapping does (throws InvalidParameterValueException,
 * with Lambda's wording for a queue visibility timeout shorter than the function's timeout), then
 * starts polling.
 */
export const startSqsEventSource = async (
  options: SqsEventSourceOptions,
): Promise<SqsEventSource> => {
  const config = resolveEventSourceConfig(options);
  const client = makeEventSourceClient(options.sqs, config.maxPollers);
  try {
    const attributes = await readQueueAttributes(client, config.queueUrl);
    checkQueueForFunction(attributes, options.function.config.timeoutMs, config.secondMs);
    const mapping = new EventSourceMapping(config, options, client, attributes.QueueArn ?? '');
    mapping.start();
    return mapping;
  } catch (error) {
    client.destroy();
    throw error;
  }
};

class EventSourceMapping implements SqsEventSource {
  readonly queueArn: string;
  readonly config: ResolvedEventSourceConfig;
  readonly #function: LocalLambdaFunction;
  readonly #client: SQSClient;
  readonly #recorder: EventSourceRecorder;
  readonly #stopping = new AbortController();
  readonly #killing = new AbortController();
  readonly #pollers = new Set<Promise<void>>();
  #activePollers = 0;
  #scaler: NodeJS.Timeout | undefined;
  #scaleUpCredit = 0;
  #sawFullBatch = false;
  #sawFailure = false;
  #stopped: Promise<void> | undefined;

  constructor(
    config: ResolvedEventSourceConfig,
    options: SqsEventSourceOptions,
    client: SQSClient,
    queueArn: string,
  ) {
    this.config = config;
    this.queueArn = queueArn;
    this.#function = options.function;
    this.#client = client;
    this.#recorder = new EventSourceRecorder(options.onInvocation);
    // Every poller's long poll listens to these; up to a thousand at once is expected.
    setMaxListeners(0, this.#stopping.signal, this.#killing.signal);
  }

  start(): void {
    for (let i = 0; i < this.config.initialPollers; i += 1) this.#addPoller();
    // One (scaled) second per step: the per-minute scaling rate applies in SQS time.
    this.#scaler = setInterval(() => this.#scale(), this.config.secondMs);
  }

  stats(): EventSourceStats {
    return this.#recorder.snapshot();
  }

  stop(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) this.#killing.abort();
    this.#stopped ??= (async () => {
      clearInterval(this.#scaler);
      this.#stopping.abort();
      // A poller may end (and leave the set) while others are awaited: wait until none is left.
      while (this.#pollers.size > 0) await Promise.all([...this.#pollers]);
      this.#client.destroy();
    })();
    return this.#stopped;
  }

  #scale(): void {
    const backlog = this.#sawFullBatch && !this.#sawFailure;
    this.#sawFullBatch = false;
    this.#sawFailure = false;
    if (!backlog) {
      this.#scaleUpCredit = 0;
      return;
    }
    this.#scaleUpCredit += this.config.pollersAddedPerSecond;
    const room = this.config.maxPollers - this.#activePollers;
    const added = Math.min(room, Math.floor(this.#scaleUpCredit));
    this.#scaleUpCredit -= added;
    for (let i = 0; i < added; i += 1) this.#addPoller();
  }

  #addPoller(): void {
    this.#activePollers += 1;
    this.#recorder.pollersChanged(this.#activePollers);
    const poller: Promise<void> = this.#poll().finally(() => this.#pollers.delete(poller));
    this.#pollers.add(poller);
  }

  /** Leaves the pool if it is above its starting size; decided and counted at once. */
  #retire(collector: BatchCollector): boolean {
    if (this.#activePollers <= this.config.initialPollers || collector.carriedCount > 0) {
      return false;
    }
    this.#activePollers -= 1;
    this.#recorder.pollersChanged(this.#activePollers);
    return true;
  }

  async #poll(): Promise<void> {
    const stopping = this.#stopping.signal;
    const collector = new BatchCollector({
      receive: makeReceiver(this.#client, this.config.queueUrl, {
        stopping,
        secondMs: this.config.secondMs,
        recorder: this.#recorder,
      }),
      toRecord: (message) => toSqsEventRecord(message, this.queueArn),
      batchSize: this.config.batchSize,
      windowMs: this.config.batchingWindowMs,
      secondMs: this.config.secondMs,
      stopping,
    });
    while (!stopping.aborted) {
      const batch = await collector.collect();
      if (stopping.aborted) break;
      if (batch.records.length === 0) {
        if (this.#retire(collector)) return;
        continue;
      }
      if (batch.full) this.#sawFullBatch = true;
      const failedWhole = await this.#invokeAndSettle(batch.records);
      if (failedWhole && !this.config.reportBatchItemFailures) {
        this.#sawFailure = true;
        if (this.#retire(collector)) return;
      }
    }
    this.#activePollers -= 1;
    this.#recorder.pollersChanged(this.#activePollers);
  }

  /** Invokes with one batch and deletes what is done; true when nothing could be deleted. */
  async #invokeAndSettle(records: SqsEventRecord[]): Promise<boolean> {
    const messageIds = records.map((record) => record.messageId);
    this.#recorder.invocationStarted();
    let result: Awaited<ReturnType<LocalLambdaFunction['invoke']>>;
    try {
      result = await this.#function.invoke({ Records: records }, { signal: this.#killing.signal });
    } finally {
      this.#recorder.invocationReturned();
    }
    let settlement: BatchSettlement = 'invocation-failed';
    let done: SqsEventRecord[] = [];
    let reportedFailures = 0;
    if (result.status === 'succeeded') {
      const verdict = this.config.reportBatchItemFailures
        ? readBatchResponse(result.payload, new Set(messageIds))
        : ({ kind: 'all-succeeded' } as const);
      if (verdict.kind === 'all-succeeded') {
        settlement = 'deleted-all';
        done = records;
      } else if (verdict.kind === 'partial') {
        settlement = 'partial';
        reportedFailures = verdict.failedMessageIds.size;
        done = records.filter((record) => !verdict.failedMessageIds.has(record.messageId));
      } else {
        settlement = 'malformed-response';
      }
    }
    const deleted =
      done.length > 0
        ? await deleteRecords(this.#client, this.config.queueUrl, done, this.#recorder)
        : 0;
    this.#recorder.invocationSettled({
      requestId: result.requestId,
      sandboxId: result.sandboxId,
      coldStart: result.coldStart,
      messageIds,
      startedAtMs: result.startedAtMs,
      durationMs: result.durationMs,
      status: result.status,
      errorType: result.status === 'succeeded' ? undefined : result.error.errorType,
      settlement,
      reportedFailures,
      deleted,
    });
    return settlement === 'invocation-failed' || settlement === 'malformed-response';
  }
}
