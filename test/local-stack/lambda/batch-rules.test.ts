import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '@aws-sdk/client-sqs';
import { BatchCollector } from '../../../infra/local-stack/lambda/batch-collector.ts';
import { readBatchResponse } from '../../../infra/local-stack/lambda/batch-response.ts';
import {
  invocationPayloadLimitBytes,
  type SqsEventRecord,
  toSqsEventRecord,
} from '../../../infra/local-stack/lambda/sqs-records.ts';

const arn = 'arn:aws:sqs:us-east-1:123456789012:q';

/** A collector over an in-memory queue: each receive takes up to `max` of what is left. */
const collectorOver = (messages: Message[], batchSize: number, windowMs = 100) => {
  const receives: number[] = [];
  const collector = new BatchCollector({
    receive: async (max) => {
      receives.push(max);
      // An empty long poll waits (briefly here) rather than answering at once.
      if (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      return messages.splice(0, max);
    },
    toRecord: (message) => toSqsEventRecord(message, arn),
    batchSize,
    windowMs,
    secondMs: 1_000,
    stopping: new AbortController().signal,
  });
  return { collector, receives };
};

const message = (id: number, bodyBytes: number): Message => ({
  MessageId: `m${id}`,
  ReceiptHandle: `r${id}`,
  Body: 'x'.repeat(bodyBytes),
  MD5OfBody: 'md5',
  Attributes: { ApproximateReceiveCount: '1' },
});

const eventBytes = (records: SqsEventRecord[]): number =>
  Buffer.byteLength(JSON.stringify({ Records: records }));

describe('local Lambda: batch rules', () => {
  test('a batch stops short of the 6 MB payload limit; the rest goes into the next one', async () => {
    // 30 records of 256 KiB: about 23 fit under 6 MiB.
    const { collector } = collectorOver(
      Array.from({ length: 30 }, (_, i) => message(i, 256 * 1024)),
      100,
    );
    const first = await collector.collect();
    assert.equal(first.full, true, 'the payload limit ends the batch');
    assert.ok(eventBytes(first.records) <= invocationPayloadLimitBytes);
    assert.ok(
      eventBytes(first.records) + 256 * 1024 > invocationPayloadLimitBytes,
      'one more record would not have fitted',
    );
    assert.equal(first.records.length, 23);
    const second = await collector.collect();
    assert.equal(second.records.length, 7, 'the carried records and the rest of the queue');
    assert.deepEqual(
      [...first.records, ...second.records].map((record) => record.messageId),
      Array.from({ length: 30 }, (_, i) => `m${i}`),
    );
  });

  test('receives ask for at most 10, and no more than the batch still needs', async () => {
    const { collector, receives } = collectorOver(
      Array.from({ length: 30 }, (_, i) => message(i, 10)),
      23,
    );
    const batch = await collector.collect();
    assert.equal(batch.records.length, 23);
    assert.deepEqual(receives, [10, 10, 3]);
  });

  test('batchItemFailures: what is a success, a partial success, a malformed answer', () => {
    const ids = new Set(['a', 'b']);
    for (const success of [
      null,
      undefined,
      {},
      { batchItemFailures: [] },
      { batchItemFailures: null },
    ]) {
      assert.equal(readBatchResponse(success, ids).kind, 'all-succeeded', JSON.stringify(success));
    }
    const partial = readBatchResponse({ batchItemFailures: [{ itemIdentifier: 'b' }] }, ids);
    assert.deepEqual(partial.kind === 'partial' && [...partial.failedMessageIds], ['b']);
    for (const malformed of [
      'ok',
      42,
      [],
      { batchItemFailures: 'a' },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ ItemIdentifier: 'a' }] },
      { batchItemFailures: [{ itemIdentifier: 'c' }] },
    ]) {
      assert.equal(readBatchResponse(malformed, ids).kind, 'malformed', JSON.stringify(malformed));
    }
  });
});
