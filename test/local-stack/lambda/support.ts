/**
 * Shared by the local Lambda service's tests: fixture paths, log collection, a local SQS whose
 * seconds are short, and polling for a condition.
 */

import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { FunctionLogLine } from '../../../infra/local-stack/lambda/function-logs.ts';
import {
  createLocalFunction,
  type LocalLambdaFunction,
} from '../../../infra/local-stack/lambda/local-function.ts';
import { type LocalSqs, startSqs } from '../../../infra/local-stack/sqs/server.ts';
import { adminSdkConfig } from '../../support/local-aws.ts';
import { makeClient } from '../sqs/support.ts';

/** An absolute path of a handler module under fixtures/. */
export const fixture = (file: string): string =>
  fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` answers something truthy; fails the test with `what` after `timeoutMs`. */
export const waitFor = async <T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
};

/** Collects a function's log lines; `json` parses the function's own JSON lines. */
export const collectLogs = () => {
  const lines: FunctionLogLine[] = [];
  return {
    lines,
    onLine: (line: FunctionLogLine) => lines.push(line),
    json: (message?: string): Record<string, unknown>[] =>
      lines
        .filter((line) => line.stream === 'stdout' && line.line.startsWith('{'))
        .map((line) => JSON.parse(line.line) as Record<string, unknown>)
        .filter((entry) => message === undefined || entry.message === message),
  };
};

/** The handler's own view of one batch (fixtures/sqs-batch.ts logs it). */
export interface BatchLine {
  requestId: string;
  at: number;
  records: { id: string; receiveCount: number; firstReceivedAt: number }[];
}

/** A local SQS with short seconds, its admin client, and queue helpers. */
export const startQueues = async (secondMs: number) => {
  const sqs: LocalSqs = await startSqs({ secondMs });
  const client: SQSClient = makeClient(sqs.endpoint);
  let sequence = 0;
  return {
    sqs,
    client,
    /** The connection an event source signs with. */
    connection: {
      endpoint: sqs.endpoint,
      credentials: adminSdkConfig(sqs.endpoint).credentials,
    },
    createQueue: async (visibilityTimeoutSeconds: number): Promise<string> => {
      sequence += 1;
      const created = await client.send(
        new CreateQueueCommand({
          QueueName: `lambda-${process.pid}-${sequence}`,
          Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) },
        }),
      );
      return created.QueueUrl as string;
    },
    /** Sends the bodies (objects are JSON-encoded) in batches of ten; answers the message ids. */
    send: async (
      queueUrl: string,
      bodies: readonly unknown[],
      extra: Partial<SendMessageBatchRequestEntry> = {},
    ): Promise<string[]> => {
      const ids: string[] = [];
      for (let start = 0; start < bodies.length; start += 10) {
        const answer = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: bodies.slice(start, start + 10).map((body, index) => ({
              Id: String(index),
              MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
              ...extra,
            })),
          }),
        );
        ids.push(...(answer.Successful ?? []).map((entry) => entry.MessageId as string));
      }
      return ids;
    },
    close: async () => {
      client.destroy();
      await sqs.close();
    },
  };
};

export type Queues = Awaited<ReturnType<typeof startQueues>>;

/** The SQS fixture function; its logs are collected. */
export const createSqsFunction = (
  timeoutMs: number,
  logs: ReturnType<typeof collectLogs>,
  name = `sqs-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
): LocalLambdaFunction =>
  createLocalFunction({
    functionName: name,
    handler: { modulePath: fixture('sqs-batch.ts') },
    timeoutMs,
    logs: { onLine: logs.onLine },
  });

/** The batches the handler saw, in order, from its own log lines. */
export const batchesSeen = (logs: ReturnType<typeof collectLogs>): BatchLine[] =>
  logs.json('batch-start') as unknown as BatchLine[];

/** The most invocations that overlapped, from the handler's batch-start and batch-end lines. */
export const maxOverlap = (logs: ReturnType<typeof collectLogs>): number => {
  const events = [
    ...logs.json('batch-start').map((line) => ({ at: line.at as number, delta: 1 })),
    ...logs.json('batch-end').map((line) => ({ at: line.at as number, delta: -1 })),
  ].sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const event of events) {
    current += event.delta;
    max = Math.max(max, current);
  }
  return max;
};
