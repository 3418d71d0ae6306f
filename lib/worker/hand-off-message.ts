/**
 * The hand-off message: what a worker that must stop (a Lambda invocation running out, a process on
 * SIGTERM) sends to the hand-off queue so a resumer can finish the task. It carries the task token,
 * a bearer secret: never log a message body, and keep the queue encrypted (SSE).
 */
import type { Checkpoint } from '../integrations/types.ts';
import type { HandOff, ReceivedTask, TaskProgress } from './ports.ts';

/** The message format version; a resumer refuses versions it does not know. */
export const handOffMessageVersion = 1;

/**
 * SQS refuses bodies above 256 KiB. A Step Functions task input alone can be 256 KiB, so a task
 * with a very large input cannot be handed off and fails as interrupted instead.
 */
export const maxHandOffMessageBytes = 262_144;

/** The JSON body of a hand-off message. */
export interface HandOffMessage {
  readonly version: typeof handOffMessageVersion;
  readonly taskToken: string;
  readonly activityArn: string;
  readonly activityName: string;
  /** The raw task input string, exactly as GetActivityTask returned it. */
  readonly input: string;
  /** The latest checkpoint; absent when the task must start from scratch. */
  readonly checkpoint?: Checkpoint;
  /** Hand-offs so far, this one included (1 on the first hand-off). */
  readonly handOffCount: number;
  /** When the first worker received the task, ISO 8601. */
  readonly firstReceivedAt: string;
}

/** A message that is not a hand-off message this version understands. */
export class HandOffMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandOffMessageError';
  }
}

/** The message for a task being handed off now (`progress.handOffCount` counts earlier ones). */
export const makeHandOffMessage = (task: ReceivedTask, progress: TaskProgress): HandOffMessage => ({
  version: handOffMessageVersion,
  taskToken: task.taskToken,
  activityArn: task.activityArn,
  activityName: task.activityName,
  input: task.input,
  ...(progress.checkpoint === undefined ? {} : { checkpoint: progress.checkpoint }),
  handOffCount: progress.handOffCount + 1,
  firstReceivedAt: new Date(progress.firstReceivedAtMs).toISOString(),
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

/**
 * Parses and checks a message body. The error names the problem, never the body (it holds a
 * token).
 */
export const parseHandOffMessage = (body: string): HandOffMessage => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HandOffMessageError('the hand-off message is not JSON');
  }
  if (!isRecord(parsed)) throw new HandOffMessageError('the hand-off message is not an object');
  if (parsed.version !== handOffMessageVersion) {
    throw new HandOffMessageError(
      `unknown hand-off message version ${JSON.stringify(parsed.version)}`,
    );
  }
  const problems = [
    isNonEmptyString(parsed.taskToken) ? undefined : 'taskToken',
    isNonEmptyString(parsed.activityArn) ? undefined : 'activityArn',
    isNonEmptyString(parsed.activityName) ? undefined : 'activityName',
    typeof parsed.input === 'string' ? undefined : 'input',
    parsed.checkpoint === undefined || isRecord(parsed.checkpoint) ? undefined : 'checkpoint',
    Number.isInteger(parsed.handOffCount) && (parsed.handOffCount as number) >= 1
      ? undefined
      : 'handOffCount',
    typeof parsed.firstReceivedAt === 'string' && !Number.isNaN(Date.parse(parsed.firstReceivedAt))
      ? undefined
      : 'firstReceivedAt',
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) {
    throw new HandOffMessageError(`the hand-off message has invalid ${problems.join(', ')}`);
  }
  return parsed as unknown as HandOffMessage;
};

/** The task and its progress as a resuming worker starts from them. */
export const toResumableTask = (
  message: HandOffMessage,
): { task: ReceivedTask; progress: TaskProgress } => ({
  task: {
    activityArn: message.activityArn,
    activityName: message.activityName,
    taskToken: message.taskToken,
    input: message.input,
  },
  progress: {
    ...(message.checkpoint === undefined ? {} : { checkpoint: message.checkpoint }),
    handOffCount: message.handOffCount,
    firstReceivedAtMs: Date.parse(message.firstReceivedAt),
  },
});

/** A durable queue of hand-off message bodies (SQS in production, in memory in unit tests). */
export interface HandOffQueue {
  /** Resolves once the queue has stored the body; rejects when it did not. */
  send(body: string, options: { delaySeconds: number }): Promise<void>;
}

/** Options of {@link makeQueueHandOff}. */
export interface QueueHandOffOptions {
  readonly queue: HandOffQueue;
  /** How long the message stays invisible: the resumer's next look at the task. */
  readonly delaySeconds: number;
}

/**
 * A {@link HandOff} that sends the task to a queue. Declines (false) a task whose message would
 * be too large for SQS; a send error propagates (the worker fails the task as interrupted).
 */
export const makeQueueHandOff =
  (options: QueueHandOffOptions): HandOff =>
  async (task, progress) => {
    const body = JSON.stringify(makeHandOffMessage(task, progress));
    if (Buffer.byteLength(body, 'utf8') > maxHandOffMessageBytes) return false;
    await options.queue.send(body, { delaySeconds: options.delaySeconds });
    return true;
  };
