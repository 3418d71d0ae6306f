/**
 * An in-memory Step Functions activity service implementing the worker's ActivityApi port:
 * queues of tasks per activity, long polls that hold until a task arrives or `longPollMs` passes,
 * recorded calls, and failure injection. Errors look like the AWS SDK's (name = error code,
 * `$metadata.httpStatusCode`), because that is what the port promises.
 */
import type { ActivityApi, PolledTask } from '../../../../lib/worker/ports.ts';

export type ApiMethod =
  | 'getActivityTask'
  | 'sendTaskSuccess'
  | 'sendTaskFailure'
  | 'sendTaskHeartbeat';

/** An error shaped like an AWS SDK service error. */
export const makeSfnError = (name: string, httpStatusCode?: number): Error => {
  const error = new Error(`${name} (fake)`) as Error & { $metadata: { httpStatusCode?: number } };
  error.name = name;
  error.$metadata = httpStatusCode === undefined ? {} : { httpStatusCode };
  return error;
};

/** An error shaped like a Node socket failure (no HTTP status). */
export const makeNetworkError = (code = 'ECONNRESET'): Error =>
  Object.assign(new Error(`socket hang up (${code})`), { code });

interface QueuedTask {
  taskToken: string;
  input: string;
}

interface PendingPoll {
  activityArn: string;
  deliver: (task: PolledTask) => void;
}

export interface RecordedCall {
  method: ApiMethod;
  atMs: number;
  request: Record<string, unknown>;
}

export class FakeActivityApi implements ActivityApi {
  readonly calls: RecordedCall[] = [];
  /** Every answer that Step Functions accepted, in order. */
  readonly answers: Array<
    | { kind: 'success'; taskToken: string; output: string }
    | { kind: 'failure'; taskToken: string; error: string; cause: string }
  > = [];
  pollsInFlight = 0;
  maxPollsInFlight = 0;
  /** Polls in flight per activity ARN. */
  readonly pollsInFlightByActivity = new Map<string, number>();
  readonly #longPollMs: number;
  readonly #queues = new Map<string, QueuedTask[]>();
  readonly #pendingPolls: PendingPoll[] = [];
  readonly #injected = new Map<ApiMethod, Error[]>();
  /** Tokens Step Functions considers gone, with the error each call about them gets. */
  readonly #goneTokens = new Map<string, string>();
  readonly #answerWaiters = new Set<() => void>();
  #nextToken = 1;

  constructor(options: { longPollMs?: number } = {}) {
    this.#longPollMs = options.longPollMs ?? 50;
  }

  /** Queues a task; returns its token. */
  enqueue(activityArn: string, input: unknown): string {
    const taskToken = `fake-token-${this.#nextToken++}-${'x'.repeat(40)}`;
    const task = { taskToken, input: typeof input === 'string' ? input : JSON.stringify(input) };
    const poll = this.#pendingPolls.find((pending) => pending.activityArn === activityArn);
    if (poll) {
      this.#pendingPolls.splice(this.#pendingPolls.indexOf(poll), 1);
      poll.deliver(task);
    } else {
      const queue = this.#queues.get(activityArn) ?? [];
      queue.push(task);
      this.#queues.set(activityArn, queue);
    }
    return taskToken;
  }

  /** The next `errors.length` calls of `method` throw these errors, in order. */
  failNext(method: ApiMethod, ...errors: Error[]): void {
    this.#injected.set(method, [...(this.#injected.get(method) ?? []), ...errors]);
  }

  /** From now on, heartbeats and answers for this token get `errorName` (e.g. TaskTimedOut). */
  expire(taskToken: string, errorName = 'TaskTimedOut'): void {
    this.#goneTokens.set(taskToken, errorName);
  }

  callsOf(method: ApiMethod): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  answerFor(taskToken: string) {
    return this.answers.find((answer) => answer.taskToken === taskToken);
  }

  /** Resolves when `predicate` holds after some answer, rejecting after `timeoutMs`. */
  async waitForAnswers(count: number, timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${count} answers (got ${this.answers.length})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10);
        this.#answerWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #record(method: ApiMethod, request: Record<string, unknown>): void {
    this.calls.push({ method, atMs: Date.now(), request });
    const injected = this.#injected.get(method);
    const error = injected?.shift();
    if (error) throw error;
  }

  #checkToken(taskToken: string): void {
    const gone = this.#goneTokens.get(taskToken);
    if (gone !== undefined) throw makeSfnError(gone, 400);
  }

  #notifyAnswer(): void {
    for (const waiter of this.#answerWaiters) waiter();
    this.#answerWaiters.clear();
  }

  async getActivityTask(request: { activityArn: string; workerName: string }): Promise<PolledTask> {
    await Promise.resolve();
    this.#record('getActivityTask', request);
    this.pollsInFlight += 1;
    this.maxPollsInFlight = Math.max(this.maxPollsInFlight, this.pollsInFlight);
    const byActivity = this.pollsInFlightByActivity;
    byActivity.set(request.activityArn, (byActivity.get(request.activityArn) ?? 0) + 1);
    try {
      const queued = this.#queues.get(request.activityArn)?.shift();
      if (queued) return queued;
      return await new Promise<PolledTask>((resolve) => {
        const pending: PendingPoll = {
          activityArn: request.activityArn,
          deliver: (task) => {
            clearTimeout(timer);
            resolve(task);
          },
        };
        const timer = setTimeout(() => {
          this.#pendingPolls.splice(this.#pendingPolls.indexOf(pending), 1);
          resolve({});
        }, this.#longPollMs);
        this.#pendingPolls.push(pending);
      });
    } finally {
      this.pollsInFlight -= 1;
      byActivity.set(request.activityArn, (byActivity.get(request.activityArn) ?? 1) - 1);
    }
  }

  async sendTaskSuccess(request: { taskToken: string; output: string }): Promise<void> {
    await Promise.resolve();
    this.#record('sendTaskSuccess', request);
    this.#checkToken(request.taskToken);
    if (Buffer.byteLength(request.output, 'utf8') > 262_144)
      throw makeSfnError('InvalidOutput', 400);
    this.answers.push({ kind: 'success', ...request });
    this.#notifyAnswer();
  }

  async sendTaskFailure(request: {
    taskToken: string;
    error: string;
    cause: string;
  }): Promise<void> {
    await Promise.resolve();
    this.#record('sendTaskFailure', request);
    this.#checkToken(request.taskToken);
    if (request.error.length > 256 || request.cause.length > 32_768) {
      throw makeSfnError('ValidationException', 400);
    }
    this.answers.push({ kind: 'failure', ...request });
    this.#notifyAnswer();
  }

  async sendTaskHeartbeat(request: { taskToken: string }, signal?: AbortSignal): Promise<void> {
    await Promise.resolve();
    signal?.throwIfAborted();
    this.#record('sendTaskHeartbeat', request);
    this.#checkToken(request.taskToken);
  }
}
