/**
 * How one poller of the event source gathers a batch, as Lambda's does for a standard queue:
 * ReceiveMessage (up to 10 a call, long polls of up to 20 s) until the batch size is reached, the
 * batching window has passed, or one more record would push the event over the 6 MB payload limit.
 *
 * The window starts with the batch's first record; a long poll that is already waiting is not cut
 * short, which is why Lambda warns that a low-traffic queue may wait up to 20 s whatever the
 * window. A record that does not fit under the payload limit is carried into this poller's next
 * batch (its visibility timeout keeps running meanwhile, as it would on Lambda).
 */
import type { Message } from '@aws-sdk/client-sqs';
import {
  emptyEventBytes,
  invocationPayloadLimitBytes,
  recordBytes,
  type SqsEventRecord,
} from './sqs-records.ts';

/** ReceiveMessage as the collector needs it; it must not throw (an error reads as no messages). */
export type ReceiveMessages = (maxMessages: number, waitSeconds: number) => Promise<Message[]>;

/** A gathered batch; empty when a long poll found nothing. */
export interface CollectedBatch {
  readonly records: SqsEventRecord[];
  /** Ended by the batch size or the payload limit: a sign of a backlog, for scaling. */
  readonly full: boolean;
}

interface SizedRecord {
  readonly record: SqsEventRecord;
  readonly bytes: number;
}

const longPollSeconds = 20;

/** Gathers batches for one poller; not shared between pollers. */
export class BatchCollector {
  readonly #receive: ReceiveMessages;
  readonly #toRecord: (message: Message) => SqsEventRecord;
  readonly #batchSize: number;
  readonly #windowMs: number;
  readonly #secondMs: number;
  readonly #stopping: AbortSignal;
  #carried: SizedRecord[] = [];

  constructor(options: {
    receive: ReceiveMessages;
    toRecord: (message: Message) => SqsEventRecord;
    batchSize: number;
    windowMs: number;
    secondMs: number;
    /** Once aborted, `collect` returns what it has without receiving more. */
    stopping: AbortSignal;
  }) {
    this.#receive = options.receive;
    this.#toRecord = options.toRecord;
    this.#batchSize = options.batchSize;
    this.#windowMs = options.windowMs;
    this.#secondMs = options.secondMs;
    this.#stopping = options.stopping;
  }

  /** Records received but left for the next batch (the payload limit was reached). */
  get carriedCount(): number {
    return this.#carried.length;
  }

  async collect(): Promise<CollectedBatch> {
    const batch: SqsEventRecord[] = [];
    let bytes = emptyEventBytes;
    const overflow: SizedRecord[] = [];
    const add = (sized: SizedRecord): void => {
      // +1 for the comma before every record but the first.
      const extra = sized.bytes + (batch.length > 0 ? 1 : 0);
      if (
        overflow.length > 0 ||
        (batch.length > 0 && bytes + extra > invocationPayloadLimitBytes)
      ) {
        overflow.push(sized);
        return;
      }
      batch.push(sized.record);
      bytes += extra;
    };
    const carried = this.#carried;
    this.#carried = [];
    for (const sized of carried) add(sized);

    let windowEndsAt =
      this.#windowMs > 0 && batch.length > 0 ? Date.now() + this.#windowMs : undefined;
    while (overflow.length === 0 && batch.length < this.#batchSize && !this.#stopping.aborted) {
      if (this.#windowMs === 0 && batch.length > 0) break;
      let waitSeconds = longPollSeconds;
      if (windowEndsAt !== undefined) {
        const remainingMs = windowEndsAt - Date.now();
        if (remainingMs <= 0) break;
        // WaitTimeSeconds is whole seconds: the window may overrun by under one second.
        waitSeconds = Math.min(longPollSeconds, Math.ceil(remainingMs / this.#secondMs));
      }
      const maxMessages = Math.min(10, this.#batchSize - batch.length);
      const messages = await this.#receive(maxMessages, waitSeconds);
      if (messages.length === 0) {
        if (batch.length === 0) return { records: [], full: false };
        continue;
      }
      if (windowEndsAt === undefined && this.#windowMs > 0) {
        windowEndsAt = Date.now() + this.#windowMs;
      }
      for (const message of messages) {
        const record = this.#toRecord(message);
        add({ record, bytes: recordBytes(record) });
      }
    }
    this.#carried = overflow;
    return { records: batch, full: overflow.length > 0 || batch.length >= this.#batchSize };
  }
}
