/**
 * Waiting for a Job to finish (contract §2.2: notice completion within about a second).
 *
 * The wait subscribes to the Job on the watch its namespace shares (`JobApi.subscribeToJob`):
 * completion arrives as an event within milliseconds, and the shared watch itself resumes,
 * restarts after 410 and re-lists the namespace at an interval, so a silently stuck stream cannot
 * leave the task waiting and a waiting Job costs no requests of its own however long it runs.
 * Only a watch the API refuses for good (401, 403, 404) makes this fall back on one GET of the Job
 * every `pollIntervalMs`.
 */
import { type Clock, systemClock } from '../../clock.ts';
import { ErrorName, KubeStatus, kubeStatusOf, TaskFailedError } from '../../errors.ts';
import { isTransientError } from '../../retry/transient.ts';
import type { JobApi, JobCondition, JobEvent, KubeJob } from './job-api.ts';

/** The terminal conditions of a Job; `FailureTarget`/`SuccessCriteriaMet` come before them. */
export type JobOutcome = 'Complete' | 'Failed';

export interface FinishedJob {
  outcome: JobOutcome;
  job: KubeJob;
}

export interface WaitForJobOptions {
  api: JobApi;
  namespace: string;
  name: string;
  /** The created Job's uid: an object of the same name with another uid is another Job. */
  uid: string | undefined;
  /** How often the Job is read when its watch is refused for good. */
  pollIntervalMs: number;
  signal: AbortSignal;
  /** What the polling sleeps on. @default systemClock */
  clock?: Clock;
  /** Told about recoverable trouble (a refused watch, a poll that failed). */
  onWarning?: (message: string, fields: Record<string, unknown>) => void;
}

/** The condition that ended the Job, if any (`Complete` or `Failed` with status `True`). */
export const findTerminalCondition = (job: KubeJob): JobCondition | undefined =>
  job.status?.conditions?.find(
    (condition) =>
      (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True',
  );

const loopsStopTimeoutMs = 2000;

const errorNameOf = (error: unknown): string | undefined =>
  error instanceof TaskFailedError ? error.errorName : undefined;

/** `EKS.JobFailed` with reason `JobDeleted` (contract §2.2). */
export const makeJobDeletedError = (namespace: string, name: string, uid: string | undefined) =>
  new TaskFailedError(ErrorName.JobFailed, `Job ${namespace}/${name} was deleted while waited on`, {
    failureCause: {
      JobName: name,
      Namespace: namespace,
      Uid: uid ?? null,
      Condition: {
        Type: 'Deleted',
        Reason: 'JobDeleted',
        Message: 'The Job was deleted before it completed or failed.',
      },
    },
  });

/**
 * Waits until the Job has `Complete` or `Failed` = `True` and returns it.
 * @throws TaskFailedError `EKS.JobFailed` (reason JobDeleted) when the Job disappears;
 *   `EKS.<status>` when the API refuses the poll for good (401, 403); the signal's reason on abort.
 */
export const waitForJobEnd = async (options: WaitForJobOptions): Promise<FinishedJob> => {
  const { api, namespace, name, uid, pollIntervalMs, signal } = options;
  const clock = options.clock ?? systemClock;
  signal.throwIfAborted();
  const stop = new AbortController();
  const loopSignal = AbortSignal.any([signal, stop.signal]);
  // Promise.withResolvers is Node 22+; this runs on Node 20 too.
  let resolve: (finished: FinishedJob) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<FinishedJob>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  const onAbort = () => reject(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });

  const isOurs = (job: KubeJob) => uid === undefined || job.metadata?.uid === uid;
  const consider = (job: KubeJob) => {
    if (!isOurs(job)) return;
    const condition = findTerminalCondition(job);
    if (condition !== undefined) resolve({ outcome: condition.type as JobOutcome, job });
  };
  const fail = (error: unknown) => reject(error);

  const onEvent = ({ type, object }: JobEvent) => {
    // No uid: the shared watch's re-list found no Job of this name (see JobApi).
    if (type === 'DELETED' && (object.metadata?.uid === undefined || isOurs(object))) {
      fail(makeJobDeletedError(namespace, name, uid));
      return;
    }
    consider(object);
  };

  /** One GET; settles the wait when it shows the end, or fails it when it cannot go on. */
  const readJob = async (): Promise<void> => {
    try {
      const job = await api.getJob(namespace, name, loopSignal);
      if (isOurs(job)) consider(job);
      else fail(makeJobDeletedError(namespace, name, uid));
    } catch (error) {
      if (loopSignal.aborted) return;
      if (kubeStatusOf(error) === KubeStatus.NotFound) {
        fail(makeJobDeletedError(namespace, name, uid));
      } else if (!isTransientError(error)) {
        fail(error);
      } else {
        options.onWarning?.('Reading the Job failed; trying again at the next poll.', {
          error: errorNameOf(error) ?? (error as Error).message,
        });
      }
    }
  };

  const runPolling = async () => {
    for (;;) {
      await clock.sleep(pollIntervalMs, loopSignal);
      if (loopSignal.aborted) return;
      await readJob();
    }
  };

  // The subscription ends only on abort or when the watch is refused: then polling is all there is.
  const waiting = api
    .subscribeToJob(namespace, name, onEvent, loopSignal)
    .catch((error: unknown) => {
      if (loopSignal.aborted) return;
      options.onWarning?.('The Job watch was refused; relying on polling.', {
        error: errorNameOf(error),
      });
      return runPolling();
    })
    .catch(fail);
  try {
    return await promise;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    // Let the subscription or the polling see the stop so nothing of this task runs on after it is
    // answered; bounded, so an adapter slow to honour its signal cannot hold the answer back.
    const bound = new AbortController();
    await Promise.race([waiting, clock.sleep(loopsStopTimeoutMs, bound.signal)]);
    bound.abort();
  }
};
