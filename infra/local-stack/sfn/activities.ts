import { randomBytes } from 'node:crypto';
import { assertValidName, findByArn, parseActivityArn, toActivityArn } from './names.ts';
import { SfnServiceError } from './protocol.ts';

/** What the execution side hears about a task it scheduled. Called at most once per ending. */
export interface ActivityTaskListener {
  onStarted(workerName: string | undefined): void;
  onSucceeded(output: string): void;
  onFailed(error: string | undefined, cause: string | undefined): void;
  onTimedOut(kind: 'heartbeat' | 'total'): void;
}

/** A task to queue for an activity's workers. */
export interface ActivityTaskRequest {
  activityArn: string;
  /** The state's effective input, as JSON text. */
  input: string;
  heartbeatSeconds?: number;
  timeoutSeconds?: number;
  listener: ActivityTaskListener;
}

/** Lets the execution side withdraw a task (execution stopped, timed out or failed elsewhere). */
export interface ScheduledActivityTask {
  /** Closes the task without telling the listener; a worker holding it then gets TaskTimedOut. */
  close(): void;
}

export interface Activity {
  arn: string;
  name: string;
  creationDate: Date;
  queue: ActivityTask[];
  pollers: Set<Poller>;
}

interface ActivityTask extends ActivityTaskRequest {
  token: string;
  state: 'queued' | 'started' | 'closed';
  heartbeatTimer?: NodeJS.Timeout;
  totalTimer?: NodeJS.Timeout;
}

interface Poller {
  workerName: string | undefined;
  deliver(task: ActivityTask | undefined): void;
}

export type PollResult = { taskToken: string; input: string } | Record<string, never>;

export interface ActivityServiceOptions {
  /** How long `GetActivityTask` holds a poll with no task. @default 60_000 (AWS's 60 s) */
  longPollHoldMs: number;
  /** Concurrent pollers per activity before `ActivityWorkerLimitExceeded`. @default 1000 */
  maxPollersPerActivity: number;
}

/**
 * Task tokens: opaque, unguessable (96 random bytes), and of a shape we can tell apart from junk,
 * because AWS answers `InvalidToken` for a malformed token but `TaskDoesNotExist` for a
 * well-formed one it does not know.
 */
const newTaskToken = (): string => `AQ${randomBytes(96).toString('base64url')}`;
const taskTokenPattern = /^AQ[A-Za-z0-9_-]{128}$/;

/**
 * Node's timers overflow above 2^31-1 ms (about 24.8 days) and then fire at once; AWS's default
 * task timeout (99,999,999 s) is "never" for a local stack, so such clocks are simply not armed.
 */
const maxTimerMs = 2 ** 31 - 1;
const toTimerMs = (seconds: number | undefined): number | undefined =>
  seconds === undefined || seconds * 1000 > maxTimerMs ? undefined : seconds * 1000;

/** Activities, their task queues, long polls and the task-token lifecycle. */
export class ActivityService {
  private readonly activities = new Map<string, Activity>();
  private readonly tasksByToken = new Map<string, ActivityTask>();
  /** Tokens of tasks that ended: a late answer to one is refused with TaskTimedOut, as AWS does. */
  private readonly closedTokens = new Set<string>();
  private closed = false;

  constructor(private readonly options: ActivityServiceOptions) {}

  /** Idempotent on name, as AWS's CreateActivity is. */
  createActivity(name: unknown): Activity {
    const validName = assertValidName(name);
    const arn = toActivityArn(validName);
    const existing = this.activities.get(arn);
    if (existing) return existing;
    const activity: Activity = {
      arn,
      name: validName,
      creationDate: new Date(),
      queue: [],
      pollers: new Set(),
    };
    this.activities.set(arn, activity);
    return activity;
  }

  describeActivity(arn: unknown): Activity {
    return findByArn(this.activities, arn, 'activity');
  }

  listActivities(): Activity[] {
    return [...this.activities.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  hasActivity(arn: string): boolean {
    return this.activities.has(arn);
  }

  /** AWS's DeleteActivity succeeds for an unknown (well-formed) ARN too. */
  deleteActivity(arn: unknown): void {
    parseActivityArn(arn);
    const activity = this.activities.get(arn as string);
    if (!activity) return;
    this.activities.delete(activity.arn);
    for (const poller of activity.pollers) poller.deliver(undefined);
    activity.pollers.clear();
  }

  /** Queues a task and hands it to the longest-waiting poller, if one is waiting. */
  schedule(request: ActivityTaskRequest): ScheduledActivityTask {
    const activity = this.activities.get(request.activityArn);
    if (!activity) {
      throw new SfnServiceError(
        'ActivityDoesNotExist',
        `Activity Does Not Exist: '${request.activityArn}'`,
      );
    }
    const task: ActivityTask = { ...request, token: newTaskToken(), state: 'queued' };
    this.tasksByToken.set(task.token, task);
    const poller = activity.pollers.values().next().value as Poller | undefined;
    if (poller) {
      activity.pollers.delete(poller);
      this.start(task, poller.workerName);
      poller.deliver(task);
    } else {
      activity.queue.push(task);
    }
    return {
      close: () => {
        const index = activity.queue.indexOf(task);
        if (index >= 0) activity.queue.splice(index, 1);
        this.closeTask(task);
      },
    };
  }

  /**
   * `GetActivityTask`: answers a queued task at once, or holds the poll until a task comes, the
   * hold time passes (`{}`), the client goes away, or the service closes (`{}`).
   */
  poll(arn: unknown, workerName: string | undefined, clientGone: AbortSignal): Promise<PollResult> {
    const activity = this.describeActivity(arn);
    const queued = activity.queue.shift();
    if (queued) {
      this.start(queued, workerName);
      return Promise.resolve({ taskToken: queued.token, input: queued.input });
    }
    if (this.closed) return Promise.resolve({});
    if (activity.pollers.size >= this.options.maxPollersPerActivity) {
      throw new SfnServiceError(
        'ActivityWorkerLimitExceeded',
        `Activity Worker Limit Exceeded: '${activity.arn}'`,
      );
    }
    return new Promise<PollResult>((resolve) => {
      const finish = (task: ActivityTask | undefined): void => {
        clearTimeout(holdTimer);
        clientGone.removeEventListener('abort', onClientGone);
        activity.pollers.delete(poller);
        resolve(task ? { taskToken: task.token, input: task.input } : {});
      };
      const poller: Poller = { workerName, deliver: finish };
      const holdTimer = setTimeout(() => finish(undefined), this.options.longPollHoldMs);
      const onClientGone = (): void => finish(undefined);
      clientGone.addEventListener('abort', onClientGone, { once: true });
      activity.pollers.add(poller);
    });
  }

  sendSuccess(token: string, output: string): void {
    const task = this.takeOpenTask(token);
    this.closeTask(task);
    task.listener.onSucceeded(output);
  }

  sendFailure(token: string, error: string | undefined, cause: string | undefined): void {
    const task = this.takeOpenTask(token);
    this.closeTask(task);
    task.listener.onFailed(error, cause);
  }

  /** Resets the heartbeat clock only; `TimeoutSeconds` keeps running (AWS semantics). */
  sendHeartbeat(token: string): void {
    const task = this.takeOpenTask(token);
    if (task.heartbeatTimer) task.heartbeatTimer.refresh();
  }

  /** Answers every held poll with `{}` and stops every task clock. */
  close(): void {
    this.closed = true;
    for (const activity of this.activities.values()) {
      for (const poller of [...activity.pollers]) poller.deliver(undefined);
    }
    for (const task of [...this.tasksByToken.values()]) this.stopClocks(task);
  }

  private takeOpenTask(token: string): ActivityTask {
    if (!taskTokenPattern.test(token)) {
      throw new SfnServiceError('InvalidToken', `Invalid Token: 'Invalid token'`);
    }
    if (this.closedTokens.has(token)) {
      throw new SfnServiceError(
        'TaskTimedOut',
        `Task Timed Out: 'Provided task does not exist anymore'`,
      );
    }
    const task = this.tasksByToken.get(token);
    // A queued task's token has not been handed to anyone yet, so nobody can legitimately hold it.
    if (task?.state !== 'started') {
      throw new SfnServiceError(
        'TaskDoesNotExist',
        `Task Does Not Exist: 'Provided task does not exist'`,
      );
    }
    return task as ActivityTask;
  }

  /** Heartbeat and total clocks run from the moment a worker takes the task. */
  private start(task: ActivityTask, workerName: string | undefined): void {
    task.state = 'started';
    task.listener.onStarted(workerName);
    const heartbeatMs = toTimerMs(task.heartbeatSeconds);
    if (heartbeatMs !== undefined) {
      task.heartbeatTimer = setTimeout(() => this.timeOut(task, 'heartbeat'), heartbeatMs);
    }
    const totalMs = toTimerMs(task.timeoutSeconds);
    if (totalMs !== undefined) {
      task.totalTimer = setTimeout(() => this.timeOut(task, 'total'), totalMs);
    }
  }

  private timeOut(task: ActivityTask, kind: 'heartbeat' | 'total'): void {
    if (task.state !== 'started') return;
    this.closeTask(task);
    task.listener.onTimedOut(kind);
  }

  private closeTask(task: ActivityTask): void {
    if (task.state === 'closed') return;
    task.state = 'closed';
    this.stopClocks(task);
    this.tasksByToken.delete(task.token);
    this.closedTokens.add(task.token);
  }

  private stopClocks(task: ActivityTask): void {
    clearTimeout(task.heartbeatTimer);
    clearTimeout(task.totalTimer);
  }
}
