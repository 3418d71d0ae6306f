import { randomBytes, randomUUID } from 'node:crypto';
import { defaultQueueAttributes, parseRedrivePolicy } from './attributes.ts';
import { sqsErrors } from './errors.ts';
import { type MessageAttributeValue, md5Hex, md5OfMessageAttributes } from './md5.ts';

/** One message as the queue keeps it. */
export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: Readonly<Record<string, MessageAttributeValue>>;
  readonly md5OfMessageAttributes: string | undefined;
  readonly sentAtMs: number;
  readonly senderId: string;
  readonly awsTraceHeader: string | undefined;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  readonly sequenceNumber: string | undefined;
  /** Until when the message is hidden, by its delay or by a receive's visibility timeout. */
  hiddenUntilMs: number;
  /** True once received: hidden then means in flight rather than delayed. */
  received: boolean;
  receiveCount: number;
  firstReceiveAtMs: number | undefined;
  /** The nonce of the latest receipt handle; older handles no longer address the message. */
  receiptNonce: string | undefined;
  deadLetterSourceArn: string | undefined;
}

export type MessageState = 'visible' | 'inFlight' | 'delayed';

export interface Queue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly createdAtMs: number;
  lastModifiedAtMs: number;
  attributes: Record<string, string>;
  messages: StoredMessage[];
  lastPurgeAtMs: number | undefined;
  /** FIFO deduplication ids seen within the deduplication interval. */
  deduplication: Map<string, { expiresAtMs: number; messageId: string; sequenceNumber: string }>;
  waiters: Set<Waiter>;
  wakeTimer: NodeJS.Timeout | undefined;
}

interface Waiter {
  take: () => StoredMessage[];
  resolve: (messages: StoredMessage[]) => void;
}

export interface NewMessage {
  body: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  delaySeconds: number | undefined;
  senderId: string;
  awsTraceHeader: string | undefined;
  groupId: string | undefined;
  deduplicationId: string | undefined;
}

export interface ReceiveOptions {
  maxMessages: number;
  visibilitySeconds: number | undefined;
  waitSeconds: number | undefined;
}

export interface ReceivedMessage {
  message: StoredMessage;
  receiptHandle: string;
}

/** SQS's FIFO deduplication interval. */
const deduplicationSeconds = 300;

/**
 * The queues of one account and their message life cycle: delays, visibility timeouts,
 * at-least-once redelivery, receive counts, redrive to a dead-letter queue, retention and long
 * polls. Times follow the wall clock; `secondMs` is the length of one SQS second so tests can run
 * the same semantics faster.
 */
export class QueueStore {
  readonly #queues = new Map<string, Queue>();
  readonly #secondMs: number;
  readonly #baseUrl: string;
  readonly #region: string;
  readonly #accountId: string;
  #sequence = 0n;

  constructor(options: { baseUrl: string; region: string; accountId: string; secondMs: number }) {
    this.#secondMs = options.secondMs;
    this.#baseUrl = options.baseUrl;
    this.#region = options.region;
    this.#accountId = options.accountId;
  }

  get accountId(): string {
    return this.#accountId;
  }

  list(): Queue[] {
    return [...this.#queues.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  findByName(name: string): Queue | undefined {
    return this.#queues.get(name);
  }

  findByArn(arn: string): Queue | undefined {
    return this.list().find((queue) => queue.arn === arn);
  }

  /**
   * Resolves a queue URL by its path (`/<account>/<name>`), whatever host the caller used, as SQS
   * accepts both its regional and legacy host names.
   */
  findByUrl(queueUrl: string): Queue {
    let path: string;
    try {
      path = new URL(queueUrl).pathname;
    } catch {
      throw sqsErrors.queueDoesNotExist();
    }
    const [, account, name, ...rest] = path.split('/');
    if (account !== this.#accountId || !name || rest.length > 0)
      throw sqsErrors.queueDoesNotExist();
    const queue = this.#queues.get(decodeURIComponent(name));
    if (!queue) throw sqsErrors.queueDoesNotExist();
    return queue;
  }

  create(name: string, attributes: Record<string, string>): Queue {
    const now = Date.now();
    const queue: Queue = {
      name,
      url: `${this.#baseUrl}/${this.#accountId}/${name}`,
      arn: `arn:aws:sqs:${this.#region}:${this.#accountId}:${name}`,
      fifo: attributes.FifoQueue === 'true',
      createdAtMs: now,
      lastModifiedAtMs: now,
      attributes: {
        ...defaultQueueAttributes,
        ...(attributes.FifoQueue === 'true'
          ? {
              ContentBasedDeduplication: 'false',
              DeduplicationScope: 'queue',
              FifoThroughputLimit: 'perQueue',
            }
          : {}),
        ...attributes,
      },
      messages: [],
      lastPurgeAtMs: undefined,
      deduplication: new Map(),
      waiters: new Set(),
      wakeTimer: undefined,
    };
    this.#queues.set(name, queue);
    return queue;
  }

  setAttributes(queue: Queue, attributes: Record<string, string>): void {
    for (const [name, value] of Object.entries(attributes)) {
      // An empty RedrivePolicy removes it, as in SQS.
      if (name === 'RedrivePolicy' && value === '') delete queue.attributes[name];
      else queue.attributes[name] = value;
    }
    queue.lastModifiedAtMs = Date.now();
    this.#wake(queue);
  }

  delete(queue: Queue): void {
    this.#queues.delete(queue.name);
    this.#release(queue);
  }

  purge(queue: Queue, cooldownMs: number): void {
    const now = Date.now();
    if (queue.lastPurgeAtMs !== undefined && now - queue.lastPurgeAtMs < cooldownMs) {
      throw sqsErrors.purgeQueueInProgress(queue.name);
    }
    queue.lastPurgeAtMs = now;
    queue.messages = [];
  }

  stateOf(message: StoredMessage, now = Date.now()): MessageState {
    if (message.hiddenUntilMs <= now) return 'visible';
    return message.received ? 'inFlight' : 'delayed';
  }

  /** Counts by state, after dropping messages past retention. */
  count(queue: Queue): Record<MessageState, number> {
    this.#expire(queue);
    const now = Date.now();
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of queue.messages) counts[this.stateOf(message, now)] += 1;
    return counts;
  }

  /**
   * Enqueues a message. A FIFO message whose deduplication id was seen within five minutes is
   * accepted but not enqueued again, and the first copy's id and sequence number are returned.
   */
  send(queue: Queue, input: NewMessage): StoredMessage {
    const now = Date.now();
    if (queue.fifo && input.deduplicationId !== undefined) {
      this.#forgetDeduplication(queue, now);
      const seen = queue.deduplication.get(dedupKey(queue, input));
      if (seen) {
        const original = queue.messages.find((m) => m.messageId === seen.messageId);
        if (original) return original;
        return this.#makeMessage(input, now, seen.messageId, seen.sequenceNumber);
      }
    }
    const delaySeconds = input.delaySeconds ?? Number(queue.attributes.DelaySeconds ?? 0);
    const message = this.#makeMessage(
      input,
      now,
      randomUUID(),
      queue.fifo ? this.#nextSequence() : undefined,
    );
    message.hiddenUntilMs = now + delaySeconds * this.#secondMs;
    queue.messages.push(message);
    if (queue.fifo && input.deduplicationId !== undefined) {
      queue.deduplication.set(dedupKey(queue, input), {
        expiresAtMs: now + deduplicationSeconds * this.#secondMs,
        messageId: message.messageId,
        sequenceNumber: message.sequenceNumber ?? '',
      });
    }
    this.#wake(queue);
    return message;
  }

  /**
   * Receives up to `maxMessages` visible messages, hiding each for the visibility timeout and
   * counting the receive. With a wait, holds until a message becomes visible or the wait ends;
   * `abort` (the client went away or the server closes) answers an empty list.
   */
  receive(queue: Queue, options: ReceiveOptions, abort: AbortSignal): Promise<ReceivedMessage[]> {
    const visibilitySeconds =
      options.visibilitySeconds ?? Number(queue.attributes.VisibilityTimeout);
    const handles = new Map<StoredMessage, string>();
    const take = (): StoredMessage[] => {
      const taken = this.#take(queue, options.maxMessages, visibilitySeconds);
      for (const message of taken) handles.set(message, this.#receiptHandleFor(queue, message));
      return taken;
    };
    const answer = (messages: StoredMessage[]): ReceivedMessage[] =>
      messages.map((message) => ({ message, receiptHandle: handles.get(message) as string }));

    const immediate = take();
    const waitSeconds =
      options.waitSeconds ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
    if (immediate.length > 0 || waitSeconds === 0 || abort.aborted) {
      return Promise.resolve(answer(immediate));
    }
    return new Promise((resolve) => {
      const finish = (messages: StoredMessage[]): void => {
        clearTimeout(timer);
        abort.removeEventListener('abort', onAbort);
        queue.waiters.delete(waiter);
        resolve(answer(messages));
      };
      const onAbort = (): void => finish([]);
      const waiter: Waiter = { take, resolve: finish };
      const timer = setTimeout(() => finish([]), waitSeconds * this.#secondMs);
      abort.addEventListener('abort', onAbort, { once: true });
      queue.waiters.add(waiter);
      this.#scheduleWake(queue);
    });
  }

  /** Deletes the message a receipt handle addresses; a stale or spent handle is a no-op, as in SQS. */
  deleteMessage(queue: Queue, receiptHandle: string): void {
    const { messageId, nonce } = this.#parseReceiptHandle(queue, receiptHandle);
    const index = queue.messages.findIndex(
      (m) => m.messageId === messageId && m.receiptNonce === nonce,
    );
    if (index >= 0) queue.messages.splice(index, 1);
  }

  changeVisibility(queue: Queue, receiptHandle: string, visibilitySeconds: number): void {
    const { messageId, nonce } = this.#parseReceiptHandle(queue, receiptHandle);
    const message = queue.messages.find(
      (m) => m.messageId === messageId && m.receiptNonce === nonce,
    );
    if (!message) {
      throw sqsErrors.invalidParameterValue(
        `Value ${receiptHandle.slice(0, 16)}... for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (this.stateOf(message) !== 'inFlight') throw sqsErrors.messageNotInflight();
    message.hiddenUntilMs = Date.now() + visibilitySeconds * this.#secondMs;
    this.#wake(queue);
  }

  /** Answers every held long poll with no messages and stops the timers (server shutdown). */
  close(): void {
    for (const queue of this.#queues.values()) this.#release(queue);
  }

  #release(queue: Queue): void {
    clearTimeout(queue.wakeTimer);
    queue.wakeTimer = undefined;
    for (const waiter of [...queue.waiters]) waiter.resolve([]);
  }

  #makeMessage(
    input: NewMessage,
    now: number,
    messageId: string,
    sequenceNumber: string | undefined,
  ): StoredMessage {
    return {
      messageId,
      body: input.body,
      md5OfBody: md5Hex(input.body),
      messageAttributes: input.messageAttributes,
      md5OfMessageAttributes: md5OfMessageAttributes(input.messageAttributes),
      sentAtMs: now,
      senderId: input.senderId,
      awsTraceHeader: input.awsTraceHeader,
      groupId: input.groupId,
      deduplicationId: input.deduplicationId,
      sequenceNumber,
      hiddenUntilMs: now,
      received: false,
      receiveCount: 0,
      firstReceiveAtMs: undefined,
      receiptNonce: undefined,
      deadLetterSourceArn: undefined,
    };
  }

  #nextSequence(): string {
    this.#sequence += 1n;
    // SQS sequence numbers are large, increasing, 128-bit decimal strings.
    return (18_000_000_000_000_000_000n + this.#sequence).toString();
  }

  #take(queue: Queue, maxMessages: number, visibilitySeconds: number): StoredMessage[] {
    this.#expire(queue);
    const now = Date.now();
    const redrive = parseRedrivePolicy(queue.attributes.RedrivePolicy);
    const deadLetterQueue = redrive ? this.findByArn(redrive.deadLetterTargetArn) : undefined;
    // A FIFO group with a message in flight is blocked, so its order holds.
    const blockedGroups = new Set(
      queue.fifo
        ? queue.messages.filter((m) => this.stateOf(m, now) === 'inFlight').map((m) => m.groupId)
        : [],
    );
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages]) {
      if (taken.length >= maxMessages) break;
      if (queue.fifo && blockedGroups.has(message.groupId)) continue;
      if (this.stateOf(message, now) !== 'visible') {
        if (queue.fifo) blockedGroups.add(message.groupId);
        continue;
      }
      // SQS moves a message once a receive would exceed maxReceiveCount, instead of returning it.
      if (redrive && deadLetterQueue && message.receiveCount >= redrive.maxReceiveCount) {
        this.#moveToDeadLetterQueue(queue, message, deadLetterQueue, now);
        continue;
      }
      message.received = true;
      message.receiveCount += 1;
      message.firstReceiveAtMs ??= now;
      message.hiddenUntilMs = now + visibilitySeconds * this.#secondMs;
      message.receiptNonce = randomBytes(12).toString('base64url');
      taken.push(message);
    }
    return taken;
  }

  #moveToDeadLetterQueue(source: Queue, message: StoredMessage, target: Queue, now: number): void {
    source.messages.splice(source.messages.indexOf(message), 1);
    message.received = false;
    message.hiddenUntilMs = now;
    message.receiptNonce = undefined;
    message.deadLetterSourceArn = source.arn;
    target.messages.push(message);
    this.#wake(target);
  }

  /** Drops messages past the retention period, counted from the original enqueue time. */
  #expire(queue: Queue): void {
    const retentionMs = Number(queue.attributes.MessageRetentionPeriod) * this.#secondMs;
    const cutoff = Date.now() - retentionMs;
    if (queue.messages.some((m) => m.sentAtMs < cutoff)) {
      queue.messages = queue.messages.filter((m) => m.sentAtMs >= cutoff);
    }
  }

  #forgetDeduplication(queue: Queue, now: number): void {
    for (const [key, entry] of queue.deduplication) {
      if (entry.expiresAtMs <= now) queue.deduplication.delete(key);
    }
  }

  /** Serves held long polls in arrival order, then re-arms the timer for the next message to surface. */
  #wake(queue: Queue): void {
    for (const waiter of [...queue.waiters]) {
      const messages = waiter.take();
      if (messages.length > 0) waiter.resolve(messages);
    }
    this.#scheduleWake(queue);
  }

  #scheduleWake(queue: Queue): void {
    clearTimeout(queue.wakeTimer);
    queue.wakeTimer = undefined;
    if (queue.waiters.size === 0) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of queue.messages) {
      if (message.hiddenUntilMs > now && message.hiddenUntilMs < next) next = message.hiddenUntilMs;
    }
    if (next === Number.POSITIVE_INFINITY) return;
    queue.wakeTimer = setTimeout(() => this.#wake(queue), next - now + 1);
  }

  #receiptHandleFor(queue: Queue, message: StoredMessage): string {
    return Buffer.from(
      JSON.stringify({ q: queue.arn, m: message.messageId, n: message.receiptNonce }),
    ).toString('base64url');
  }

  #parseReceiptHandle(queue: Queue, receiptHandle: string): { messageId: string; nonce: string } {
    try {
      const parsed = JSON.parse(Buffer.from(receiptHandle, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      if (parsed.q === queue.arn && typeof parsed.m === 'string' && typeof parsed.n === 'string') {
        return { messageId: parsed.m, nonce: parsed.n };
      }
    } catch {
      // fall through: not one of ours
    }
    throw sqsErrors.receiptHandleIsInvalid(receiptHandle);
  }
}

const dedupKey = (queue: Queue, input: NewMessage): string =>
  queue.attributes.DeduplicationScope === 'messageGroup'
    ? `${input.groupId}\u0000${input.deduplicationId}`
    : String(input.deduplicationId);
