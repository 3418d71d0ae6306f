/**
 * Waiting for a Job to finish (contract §2.2: notice completion within about a second).
 *
 * A watch on the one Job is the fast path. It resumes from the last resourceVersion it saw when
 * the server ends the stream (API servers end watches after a timeout, and connections drop); on
 * `410 Gone` / `Expired` (the version left the server's history) it re-reads the Job and watches
 * from the fresh version, as client-go's reflector does.
 *
 * A watch can also go silent without ending (a half-open connection, a proxy that buffers). The
 * real adapter guards against that for all waiting Jobs at once (`watchResyncIntervalMs`: one
 * re-list of the namespace per interval, lib/kube/shared-watch.ts), so a waiting Job costs no
 * requests of its own however long it runs. Only an adapter without that guard, or a watch the API
 * refuses, makes this fall back on one GET of the Job every `pollIntervalMs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorName, TaskFailedError } from '../../errors.ts';
import type { JobApi, JobCondition, JobWatchEvent, KubeJob } from './job-api.ts';

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
  /** Where the watch starts: the create answer's resourceVersion, so no event is missed. */
  resourceVersion: string;
  /**
   * How often the Job is read when the adapter does not re-list on its own
   * (`JobApi.watchResyncIntervalMs` unset) or the watch is refused.
   */
  pollIntervalMs: number;
  /**
   * Longest pause before re-opening a watch that failed (one that ended normally is re-opened at
   * once). The first retry comes after 100 ms, doubling per consecutive failure. @default 1000
   */
  watchRetryDelayMs?: number;
  signal: AbortSignal;
  /** Told about recoverable trouble (a watch that failed, a poll that failed). */
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

/** Errors a later attempt can get past: connection trouble, throttling, server errors. */
const isTransient = (error: unknown): boolean => {
  if (!(error instanceof TaskFailedError)) return true;
  if (error.retryable || error.errorName === ErrorName.ConnectionFailed) return true;
  const status = Number(error.errorName.replace(/^EKS\./, ''));
  return status === 429 || status >= 500;
};

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
  const watchRetryDelayMs = options.watchRetryDelayMs ?? 1000;
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

  const runWatch = async () => {
    let resourceVersion = options.resourceVersion;
    let failures = 0;
    while (!loopSignal.aborted) {
      const attempt = new AbortController();
      const attemptSignal = AbortSignal.any([loopSignal, attempt.signal]);
      let expired = false;
      const onEvent = (event: JobWatchEvent) => {
        if (event.type === 'ERROR') {
          if (event.object.code === 410 || event.object.reason === 'Expired') {
            expired = true;
          } else {
            options.onWarning?.('The Job watch sent an error event.', {
              code: event.object.code,
              reason: event.object.reason,
            });
          }
          attempt.abort();
          return;
        }
        failures = 0;
        const version = event.object.metadata?.resourceVersion;
        if (version !== undefined) resourceVersion = version;
        if (event.type === 'BOOKMARK') return;
        // No uid: the adapter's re-list found no Job of this name (see JobApi).
        if (
          event.type === 'DELETED' &&
          (event.object.metadata?.uid === undefined || isOurs(event.object))
        ) {
          fail(makeJobDeletedError(namespace, name, uid));
          return;
        }
        consider(event.object);
      };
      try {
        await api.watchJob(namespace, name, resourceVersion, onEvent, attemptSignal);
      } catch (error) {
        if (loopSignal.aborted) return;
        if (errorNameOf(error) === 'EKS.410') {
          expired = true;
        } else if (!attempt.signal.aborted) {
          if (!isTransient(error)) {
            // The poll loop still notices the end; a watch we may not open would only spin.
            options.onWarning?.('The Job watch was refused; relying on polling.', {
              error: errorNameOf(error),
            });
            return;
          }
          options.onWarning?.('The Job watch failed; reopening it.', {
            error: errorNameOf(error) ?? (error as Error).message,
          });
          failures += 1;
          const delayMs = Math.min(watchRetryDelayMs, 100 * 2 ** (failures - 1));
          await sleep(delayMs, undefined, { signal: loopSignal }).catch(() => {});
          continue;
        }
      }
      if (expired && !loopSignal.aborted) {
        const job = await readJob();
        if (job === undefined) {
          // Unreadable for now (or settled): retry from the same version, which expires again.
          await sleep(watchRetryDelayMs, undefined, { signal: loopSignal }).catch(() => {});
          continue;
        }
        const version = job.metadata?.resourceVersion;
        if (version !== undefined) resourceVersion = version;
      }
    }
  };

  /** One GET; settles the wait when it shows the end; undefined when it could not tell. */
  const readJob = async (): Promise<KubeJob | undefined> => {
    try {
      const job = await api.getJob(namespace, name, loopSignal);
      if (!isOurs(job)) {
        fail(makeJobDeletedError(namespace, name, uid));
        return undefined;
      }
      consider(job);
      return job;
    } catch (error) {
      if (loopSignal.aborted) return undefined;
      if (errorNameOf(error) === 'EKS.404') {
        fail(makeJobDeletedError(namespace, name, uid));
      } else if (!isTransient(error)) {
        fail(error);
      } else {
        options.onWarning?.('Reading the Job failed; trying again at the next poll.', {
          error: errorNameOf(error) ?? (error as Error).message,
        });
      }
      return undefined;
    }
  };

  const runPolling = async () => {
    while (!loopSignal.aborted) {
      try {
        await sleep(pollIntervalMs, undefined, { signal: loopSignal });
      } catch {
        return;
      }
      await readJob();
    }
  };

  // runWatch returns early only when the watch is refused: then polling is all there is.
  const loops = (
    api.watchResyncIntervalMs === undefined
      ? [runWatch(), runPolling()]
      : [runWatch().then(() => (loopSignal.aborted ? undefined : runPolling()))]
  ).map((loop) => loop.catch(fail));
  try {
    return await promise;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    // Let both loops see the stop so nothing of this task runs on after it is answered; bounded,
    // so an adapter slow to honour its signal cannot hold the task's answer back.
    await Promise.race([Promise.all(loops), sleep(loopsStopTimeoutMs, undefined, { ref: false })]);
  }
};
