/**
 * The hand-off message: what a worker that must stop (a Lambda invocation running out, a process on
 * SIGTERM) sends to the hand-off queue so a resumer can finish the task. It carries the task token,
 * a bearer secret: never log a message body, and keep the queue encrypted (SSE).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ErrorName } from '../errors.ts';
import type { Checkpoint } from '../integrations/types.ts';
import { SqsLimits } from '../limits.ts';
import { makeFailureOutcome } from './outcome.ts';
import type { PollWorkerName } from './poll-worker-name.ts';
import type { AnswerOutcome, HandOff, HandOffQueue, ReceivedTask, TaskProgress } from './ports.ts';

/**
 * The version of a message carrying a task to continue; a resumer refuses versions it does not
 * know (the message then goes to the dead-letter queue after maxReceiveCount).
 */
export const handOffMessageVersion = 1;

/**
 * The version of a message carrying a ready answer (see {@link AnswerHandOffMessage}). A separate
 * version rather than an optional field on version 1: a resumer deployed before answers were
 * handed off would ignore the field and run the task again; with version 2 it refuses the
 * message instead, which is redelivered until a current resumer reads it.
 */
export const answerHandOffMessageVersion = 2;

/**
 * SQS refuses bodies above 256 KiB. A Step Functions task input alone can be 256 KiB, so a task
 * with a very large input cannot be handed off and fails as interrupted instead.
 */
export const maxHandOffMessageBytes = SqsLimits.maxMessageBytes;

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
  /** The poll that first received the task, so the resumer's log lines carry its workerName. */
  readonly poll?: PollWorkerName;
}

/**
 * An answer in a message. A success output that would not fit as text travels gzip-compressed
 * and base64-encoded (`outputGzipBase64`) instead.
 */
export type EncodedAnswer =
  | { readonly kind: 'success'; readonly output: string }
  | { readonly kind: 'success'; readonly outputGzipBase64: string }
  | { readonly kind: 'failure'; readonly error: string; readonly cause: string };

/**
 * The JSON body of a message carrying a ready answer whose SendTaskSuccess/Failure could not be
 * delivered before the invocation had to end (Step Functions throttling or failing). The resumer
 * only delivers it; the task's input and checkpoint are not needed any more and are left out.
 */
export interface AnswerHandOffMessage {
  readonly version: typeof answerHandOffMessageVersion;
  readonly taskToken: string;
  readonly activityArn: string;
  readonly activityName: string;
  readonly answer: EncodedAnswer;
  /** Hand-offs so far, this one included. */
  readonly handOffCount: number;
  /** When the first worker received the task, ISO 8601. */
  readonly firstReceivedAt: string;
  /** The poll that first received the task (see {@link HandOffMessage.poll}). */
  readonly poll?: PollWorkerName;
}

/** Any message on the hand-off queue. */
export type QueuedMessage = HandOffMessage | AnswerHandOffMessage;

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
  ...(task.poll === undefined ? {} : { poll: task.poll }),
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

/**
 * Parses and checks a message body. The error names the problem, never the body (it holds a
 * token).
 */
export const parseHandOffMessage = (body: string): HandOffMessage =>
  checkTaskMessage(parseObject(body));

/**
 * Parses and checks any message of the queue: a task to continue (version 1) or an answer to
 * deliver (version 2). The error names the problem, never the body.
 */
export const parseQueuedMessage = (body: string): QueuedMessage => {
  const parsed = parseObject(body);
  return parsed.version === answerHandOffMessageVersion
    ? checkAnswerMessage(parsed)
    : checkTaskMessage(parsed);
};

const parseObject = (body: string): Record<string, unknown> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HandOffMessageError('the hand-off message is not JSON');
  }
  if (!isRecord(parsed)) throw new HandOffMessageError('the hand-off message is not an object');
  return parsed;
};

const checkEnvelope = (parsed: Record<string, unknown>): (string | undefined)[] => [
  isNonEmptyString(parsed.taskToken) ? undefined : 'taskToken',
  isNonEmptyString(parsed.activityArn) ? undefined : 'activityArn',
  isNonEmptyString(parsed.activityName) ? undefined : 'activityName',
  Number.isInteger(parsed.handOffCount) && (parsed.handOffCount as number) >= 1
    ? undefined
    : 'handOffCount',
  typeof parsed.firstReceivedAt === 'string' && !Number.isNaN(Date.parse(parsed.firstReceivedAt))
    ? undefined
    : 'firstReceivedAt',
];

const throwProblems = (problems: (string | undefined)[]): void => {
  const found = problems.filter((problem) => problem !== undefined);
  if (found.length > 0) {
    throw new HandOffMessageError(`the hand-off message has invalid ${found.join(', ')}`);
  }
};

const isEncodedAnswer = (value: unknown): value is EncodedAnswer => {
  if (!isRecord(value)) return false;
  if (value.kind === 'failure') {
    return typeof value.error === 'string' && typeof value.cause === 'string';
  }
  return (
    value.kind === 'success' &&
    (typeof value.output === 'string') !== (typeof value.outputGzipBase64 === 'string')
  );
};

const checkAnswerMessage = (parsed: Record<string, unknown>): AnswerHandOffMessage => {
  throwProblems([...checkEnvelope(parsed), isEncodedAnswer(parsed.answer) ? undefined : 'answer']);
  return parsed as unknown as AnswerHandOffMessage;
};

const checkTaskMessage = (parsed: Record<string, unknown>): HandOffMessage => {
  if (parsed.version !== handOffMessageVersion) {
    throw new HandOffMessageError(
      `unknown hand-off message version ${JSON.stringify(parsed.version)}`,
    );
  }
  throwProblems([
    ...checkEnvelope(parsed),
    typeof parsed.input === 'string' ? undefined : 'input',
    parsed.checkpoint === undefined || isRecord(parsed.checkpoint) ? undefined : 'checkpoint',
  ]);
  return parsed as unknown as HandOffMessage;
};

/**
 * The poll a message names, when well-formed. Only for log lines and labels: a message without it
 * (older workers) or with a malformed one is still resumed.
 */
export const readPoll = (message: QueuedMessage): { poll?: PollWorkerName } => {
  const poll: unknown = message.poll;
  return isRecord(poll) && isNonEmptyString(poll.workerName) && isNonEmptyString(poll.pollId)
    ? { poll: { workerName: poll.workerName, pollId: poll.pollId } }
    : {};
};

/** A queued task as a worker knows it again: the task and how far it has come. */
export interface QueuedTask {
  readonly task: ReceivedTask;
  readonly progress: TaskProgress;
}

const toQueuedTask = (
  message: QueuedMessage,
  input: string,
  checkpoint: Checkpoint | undefined,
): QueuedTask => ({
  task: {
    activityArn: message.activityArn,
    activityName: message.activityName,
    taskToken: message.taskToken,
    input,
    ...readPoll(message),
  },
  progress: {
    ...(checkpoint === undefined ? {} : { checkpoint }),
    handOffCount: message.handOffCount,
    firstReceivedAtMs: Date.parse(message.firstReceivedAt),
  },
});

/** The task and its progress as a resuming worker starts from them. */
export const toResumableTask = (message: HandOffMessage): QueuedTask =>
  toQueuedTask(message, message.input, message.checkpoint);

/**
 * The task and progress an answer message stands for, so a re-queued answer keeps its count, its
 * first receipt and the poll that received its task. The input is not carried (nothing runs).
 */
export const toAnswerTask = (message: AnswerHandOffMessage): QueuedTask =>
  toQueuedTask(message, '', undefined);

/** The answer a message carries, decoded. */
export const readHandedOffAnswer = (message: AnswerHandOffMessage): AnswerOutcome => {
  const { answer } = message;
  if (answer.kind === 'failure') {
    return { kind: 'failure', error: answer.error, cause: answer.cause };
  }
  if ('output' in answer) return { kind: 'success', output: answer.output };
  let output: string;
  try {
    output = gunzipSync(Buffer.from(answer.outputGzipBase64, 'base64')).toString('utf8');
  } catch {
    throw new HandOffMessageError('the hand-off message has an undecodable answer output');
  }
  return { kind: 'success', output };
};

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

const serialiseAnswerMessage = (
  task: ReceivedTask,
  progress: TaskProgress,
  answer: EncodedAnswer,
): string =>
  JSON.stringify({
    version: answerHandOffMessageVersion,
    taskToken: task.taskToken,
    activityArn: task.activityArn,
    activityName: task.activityName,
    answer,
    handOffCount: progress.handOffCount + 1,
    firstReceivedAt: new Date(progress.firstReceivedAtMs).toISOString(),
    ...(task.poll === undefined ? {} : { poll: task.poll }),
  } satisfies AnswerHandOffMessage);

/**
 * The body of a message handing off `outcome`, within {@link maxHandOffMessageBytes}.
 *
 * A success output may be 256 KiB on its own, and JSON-escaping it inside the message grows it
 * further, so an output that does not fit as text is sent gzip-compressed (JSON compresses
 * several-fold). An output that does not fit even compressed (large, incompressible data) cannot
 * be handed off: rather than lose the answer and leave the execution waiting for its timeout,
 * the message carries an `EKS.WorkerInterrupted` failure, which ends the task promptly with the
 * error a state machine retries for interruptions. A failure (error and cause are within 33K
 * characters) always fits.
 */
export const makeAnswerHandOffBody = (
  task: ReceivedTask,
  progress: TaskProgress,
  outcome: AnswerOutcome,
): string => {
  if (outcome.kind === 'failure') {
    return serialiseAnswerMessage(task, progress, {
      kind: 'failure',
      error: outcome.error,
      cause: outcome.cause,
    });
  }
  const plain = serialiseAnswerMessage(task, progress, { kind: 'success', output: outcome.output });
  if (byteLength(plain) <= maxHandOffMessageBytes) return plain;
  const compressed = gzipSync(outcome.output).toString('base64');
  const packed = serialiseAnswerMessage(task, progress, {
    kind: 'success',
    outputGzipBase64: compressed,
  });
  if (byteLength(packed) <= maxHandOffMessageBytes) return packed;
  const failure = makeFailureOutcome(ErrorName.WorkerInterrupted, {
    message:
      'The task finished, but Step Functions did not accept its output before the worker had to stop, and the output is too large to hand off to another worker.',
    OutputBytes: byteLength(outcome.output),
    CompressedBytes: compressed.length,
    MaxHandOffMessageBytes: maxHandOffMessageBytes,
  });
  return makeAnswerHandOffBody(
    task,
    progress,
    failure.kind === 'failure'
      ? failure
      : { kind: 'failure', error: ErrorName.WorkerInterrupted, cause: '{}' },
  );
};

/** Options of {@link makeQueueHandOff}. */
export interface QueueHandOffOptions {
  readonly queue: HandOffQueue;
  /** How long the message stays invisible: the resumer's next look at the task. */
  readonly delaySeconds: number;
  /**
   * Also hand off answers that could not be delivered before the worker must stop (the Lambda
   * hosts). Off for a process, whose answers retry until delivered.
   */
  readonly carryAnswers?: boolean;
}

/** Hands a task off as a message; declines (false) one whose message would be too large for SQS. */
export const makeQueueTaskHandOff =
  (options: QueueHandOffOptions): HandOff['handOffTask'] =>
  async (task, progress) => {
    const body = JSON.stringify(makeHandOffMessage(task, progress));
    if (byteLength(body) > maxHandOffMessageBytes) return false;
    await options.queue.send(body, { delaySeconds: options.delaySeconds });
    return true;
  };

/** Hands a ready answer off as a message (see {@link makeAnswerHandOffBody}). */
export const makeQueueAnswerHandOff =
  (options: QueueHandOffOptions): NonNullable<HandOff['handOffAnswer']> =>
  async (task, progress, answer) => {
    await options.queue.send(makeAnswerHandOffBody(task, progress, answer), {
      delaySeconds: options.delaySeconds,
    });
    return true;
  };

/**
 * A {@link HandOff} that sends the task (and with `carryAnswers`, a ready answer) to a queue as a
 * message. A send error propagates: the worker fails the task as interrupted, or the answer is
 * lost.
 */
export const makeQueueHandOff = (options: QueueHandOffOptions): HandOff => ({
  handOffTask: makeQueueTaskHandOff(options),
  ...(options.carryAnswers === true ? { handOffAnswer: makeQueueAnswerHandOff(options) } : {}),
});
