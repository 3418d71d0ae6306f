/**
 * What an event source did, for tests and benchmarks: counters, the concurrency reached, and one
 * entry per invocation (records, duration, how it ended and what was deleted).
 */
import type { InvocationResult } from './local-function.ts';

/** How the mapping settled a batch after its invocation. */
export type BatchSettlement =
  /** Every record deleted (success, or success without ReportBatchItemFailures). */
  | 'deleted-all'
  /** The records listed in batchItemFailures kept, the rest deleted. */
  | 'partial'
  /** A successful invocation whose answer was not the documented shape: nothing deleted. */
  | 'malformed-response'
  /** The invocation failed (error, timeout, crash, throttle): nothing deleted. */
  | 'invocation-failed';

/** One invocation of the function by the mapping. */
export interface InvocationRecord {
  readonly requestId: string;
  readonly sandboxId: number | undefined;
  readonly coldStart: boolean;
  readonly messageIds: readonly string[];
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly status: InvocationResult['status'];
  readonly errorType: string | undefined;
  readonly settlement: BatchSettlement;
  /** Records the answer listed as failed (under ReportBatchItemFailures). */
  readonly reportedFailures: number;
  /** Records DeleteMessageBatch confirmed deleted. */
  readonly deleted: number;
}

/** A copy of the mapping's counters at one moment. */
export interface EventSourceStats {
  readonly invocationsStarted: number;
  readonly invocationsEnded: number;
  readonly invocationsSucceeded: number;
  /** The handler threw or rejected (or the init phase failed). */
  readonly invocationsFailed: number;
  readonly invocationsTimedOut: number;
  readonly invocationsCrashed: number;
  readonly invocationsThrottled: number;
  readonly malformedResponses: number;
  readonly recordsReceived: number;
  readonly recordsDeleted: number;
  readonly recordsReportedFailed: number;
  readonly receiveErrors: number;
  readonly deleteErrors: number;
  readonly concurrentInvocations: number;
  readonly maxConcurrentInvocations: number;
  readonly pollers: number;
  readonly maxPollers: number;
  readonly invocations: readonly InvocationRecord[];
}

type Counters = { -readonly [K in keyof EventSourceStats]: EventSourceStats[K] };

/** Counts what the mapping does; `snapshot` copies it out. */
export class EventSourceRecorder {
  readonly #counters: Omit<Counters, 'invocations'> = {
    invocationsStarted: 0,
    invocationsEnded: 0,
    invocationsSucceeded: 0,
    invocationsFailed: 0,
    invocationsTimedOut: 0,
    invocationsCrashed: 0,
    invocationsThrottled: 0,
    malformedResponses: 0,
    recordsReceived: 0,
    recordsDeleted: 0,
    recordsReportedFailed: 0,
    receiveErrors: 0,
    deleteErrors: 0,
    concurrentInvocations: 0,
    maxConcurrentInvocations: 0,
    pollers: 0,
    maxPollers: 0,
  };
  readonly #invocations: InvocationRecord[] = [];
  readonly #onInvocation: ((record: InvocationRecord) => void) | undefined;

  constructor(onInvocation?: (record: InvocationRecord) => void) {
    this.#onInvocation = onInvocation;
  }

  received(count: number): void {
    this.#counters.recordsReceived += count;
  }
  receiveFailed(): void {
    this.#counters.receiveErrors += 1;
  }
  deleteFailed(count: number): void {
    this.#counters.deleteErrors += count;
  }
  pollersChanged(pollers: number): void {
    this.#counters.pollers = pollers;
    this.#counters.maxPollers = Math.max(this.#counters.maxPollers, pollers);
  }
  invocationStarted(): void {
    const counters = this.#counters;
    counters.invocationsStarted += 1;
    counters.concurrentInvocations += 1;
    counters.maxConcurrentInvocations = Math.max(
      counters.maxConcurrentInvocations,
      counters.concurrentInvocations,
    );
  }
  /** Once the invocation has returned, before the batch is settled (deleted). */
  invocationReturned(): void {
    this.#counters.concurrentInvocations -= 1;
  }
  invocationSettled(record: InvocationRecord): void {
    const counters = this.#counters;
    counters.invocationsEnded += 1;
    const byStatus = {
      succeeded: 'invocationsSucceeded',
      failed: 'invocationsFailed',
      timedOut: 'invocationsTimedOut',
      crashed: 'invocationsCrashed',
      throttled: 'invocationsThrottled',
    } as const;
    counters[byStatus[record.status]] += 1;
    if (record.settlement === 'malformed-response') counters.malformedResponses += 1;
    counters.recordsReportedFailed += record.reportedFailures;
    counters.recordsDeleted += record.deleted;
    this.#invocations.push(record);
    this.#onInvocation?.(record);
  }

  snapshot(): EventSourceStats {
    return { ...this.#counters, invocations: [...this.#invocations] };
  }
}
