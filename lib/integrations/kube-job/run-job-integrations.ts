/**
 * `eks:runJob` and `eks:runJob.sync` (contract §2.2): create a Job; with `.sync`, wait for it to
 * end, then output the final Job (with its pods' logs when asked) or fail with `EKS.JobFailed`.
 */

import { type Clock, systemClock } from '../../clock.ts';
import { KubeStatus, kubeStatusOf } from '../../errors.ts';
import type { ClusterTarget } from '../../kube/cluster-target.ts';
import type { KubeConnector } from '../../kube/connection.ts';
import { SfnLimits } from '../../limits.ts';
import { computeBackoffDelayMs } from '../../retry/backoff.ts';
import { isTransientError } from '../../retry/transient.ts';
import { kubeOutputTooLargeAdvice } from '../kube-output-advice.ts';
import type { Checkpoint, Integration, TaskContext } from '../types.ts';
import { TaskAbortedError } from '../types.ts';
import { collectLogs } from './collect-logs.ts';
import { createOrAdoptJob, withoutFingerprint } from './create-or-adopt.ts';
import type { JobApi, KubeJob } from './job-api.ts';
import { makeJobFailedError } from './job-failure.ts';
import { makeJobApiOpener } from './kube-job-api.ts';
import { markJobWithTask } from './mark-job-with-task.ts';
import { parseRunJobInput, type RunJobInput } from './parse-input.ts';
import { trackFailedPods } from './track-failed-pods.ts';
import { makeJobDeletedError, waitForJobEnd } from './wait-for-job.ts';

/** Opens the Job API of a cluster: resolves where it is, checks trust, signs tokens. */
export type OpenJobApi = (
  cluster: ClusterTarget,
  signal: AbortSignal,
  clock?: Clock,
) => Promise<JobApi>;

export interface RunJobOptions {
  /**
   * The fallback for a watch that is silently stuck: the waited-on Jobs' namespace is re-listed
   * this often (one request for all of them; a per-Job GET only where the watch is refused).
   * @default 60000 (the watch is the fast path)
   */
  pollIntervalMs?: number;
  /**
   * Delete the Job (propagationPolicy Background) when Step Functions no longer wants the result
   * (a heartbeat answered TaskTimedOut, TaskDoesNotExist or InvalidToken). When absent, the task
   * context's `cleanupOnAbandon` (the worker's configuration) decides. @default false
   */
  cleanupOnAbandon?: boolean;
  /** @default SfnLimits.maxOutputBytes (262,144) */
  maxOutputBytes?: number;
  /** How long the clean-up delete may take. @default 10000 */
  cleanupTimeoutMs?: number;
}

/**
 * Either `lib/kube`'s connector (`connect`, the worker's wiring) or a {@link JobApi} opener
 * (`openJobApi`, tests with an in-memory fake).
 */
export type RunJobDeps = RunJobOptions &
  ({ connect: KubeConnector['connect'] } | { openJobApi: OpenJobApi });

/**
 * The Job as returned to the state machine: `metadata.managedFields` dropped (contract §2.2), and
 * the worker's own request-fingerprint annotation too (contract §6).
 */
export const toOutputJob = (job: KubeJob): KubeJob => {
  const output = withoutFingerprint(job);
  if (output.metadata?.managedFields === undefined) return output;
  const { managedFields: _dropped, ...metadata } = output.metadata;
  return { ...output, metadata };
};

/** The label selector of the Job's own pods: its `spec.selector`, i.e. the controller-uid. */
export const toPodSelector = (job: KubeJob): string => {
  const matchLabels = job.spec?.selector?.matchLabels;
  if (matchLabels !== undefined && Object.keys(matchLabels).length > 0) {
    return Object.entries(matchLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
  }
  return `batch.kubernetes.io/controller-uid=${job.metadata?.uid ?? ''}`;
};

const isAbandoned = (signal: AbortSignal): boolean =>
  signal.aborted &&
  signal.reason instanceof TaskAbortedError &&
  signal.reason.abortCause.kind === 'abandoned';

/**
 * Whether the Job is left to nobody: the execution gave up on it (abandoned), or the worker stops
 * and the task will fail as `EKS.WorkerInterrupted` because there is no hand-off queue to carry
 * it on (contract §6). A task that will be handed off keeps its Job for the resumer.
 */
const isLeftToNobody = (context: TaskContext): boolean =>
  isAbandoned(context.signal) ||
  (context.signal.aborted &&
    context.signal.reason instanceof TaskAbortedError &&
    context.signal.reason.abortCause.kind === 'shutdown' &&
    context.handsOffOnShutdown !== true);

/** Backoff between tries to read a carried-on Job while its API server cannot be reached. */
const resumeReadBackoff = { baseDelayMs: 1_000, maxDelayMs: 15_000 };

/**
 * The Job a carried-on wait resumes, read again. The Job exists (the checkpoint says so) and runs
 * whether or not the API server answers this minute, so a transient failure (a busy or restarting
 * API server, a connect timeout, throttling) is tried again with backoff while the task keeps
 * heartbeating, as the wait itself does; it never fails a wait that was already durable. Gone
 * (404, or another uid under the name) fails as `JobDeleted`; anything else permanent fails.
 */
const readCheckpointedJob = async (
  open: () => Promise<JobApi>,
  namespace: string,
  name: string,
  uid: string | undefined,
  context: TaskContext,
): Promise<{ api: JobApi; current: KubeJob }> => {
  const clock = context.clock ?? systemClock;
  for (let attempt = 0; ; attempt += 1) {
    let read: { api: JobApi; current: KubeJob };
    try {
      const api = await open();
      read = { api, current: await api.getJob(namespace, name, context.signal) };
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (kubeStatusOf(error) === KubeStatus.NotFound) {
        throw makeJobDeletedError(namespace, name, uid);
      }
      if (!isTransientError(error)) throw error;
      const retryInMs = computeBackoffDelayMs(attempt, resumeReadBackoff);
      context.logger.warn('Reading the carried-on Job failed; trying again', {
        namespace,
        jobName: name,
        errorName: (error as { errorName?: string }).errorName ?? (error as Error).name,
        retryInMs,
      });
      await clock.sleep(retryInMs, context.signal);
      continue;
    }
    // Same name, other uid: ours was deleted and replaced while no worker watched it.
    if (uid !== undefined && read.current.metadata?.uid !== uid) {
      throw makeJobDeletedError(namespace, name, uid);
    }
    return read;
  }
};

/** The two runJob integrations, in the order `[eks-runJob, eks-runJob-sync]`. */
export const makeRunJobIntegrations = (deps: RunJobDeps): [Integration, Integration] => {
  const pollIntervalMs = deps.pollIntervalMs ?? 60_000;
  const maxOutputBytes = deps.maxOutputBytes ?? SfnLimits.maxOutputBytes;
  const cleanupTimeoutMs = deps.cleanupTimeoutMs ?? 10_000;
  const openJobApi =
    'openJobApi' in deps
      ? deps.openJobApi
      : makeJobApiOpener(deps.connect, { resyncIntervalMs: pollIntervalMs });

  const runJob: Integration = {
    activitySuffix: 'eks-runJob',
    outputTooLargeAdvice: kubeOutputTooLargeAdvice,
    async run(input: unknown, context: TaskContext) {
      const { cluster, namespace, job } = parseRunJobInput(input, false);
      const api = await openJobApi(cluster, context.signal);
      // No adoption here (contract §6): the task ends as soon as the Job exists, so a second
      // task with the same name is almost never a retry of this one, and gets EKS.409 natively.
      const created = await api.createJob(namespace, markJobWithTask(job, context), context.signal);
      context.logger.info('Job created.', { namespace, jobName: created.metadata?.name });
      return toOutputJob(created);
    },
  };

  const runJobSync: Integration = {
    activitySuffix: 'eks-runJob-sync',
    outputTooLargeAdvice: kubeOutputTooLargeAdvice,
    async run(input: unknown, context: TaskContext) {
      const { signal, logger } = context;
      const parsed = parseRunJobInput(input, true);
      const { cluster, namespace, job } = parsed;
      const api = await openJobApi(cluster, signal, context.clock);
      const { job: created, adopted } = await createOrAdoptJob(
        api,
        {
          clusterName: cluster.clusterName,
          namespace,
          job,
          markAttempt: (unmarked) => markJobWithTask(unmarked, context),
        },
        signal,
      );
      // With generateName the server picks the name; everything after follows that one.
      const name = created.metadata?.name ?? job.metadata?.name ?? '';
      const uid = created.metadata?.uid;
      // From here the Job exists: a worker that must stop hands the task off with this, and the
      // resumer waits for this very Job instead of creating another.
      context.checkpoint?.({ namespace, jobName: name, ...(uid === undefined ? {} : { uid }) });
      logger.info(
        adopted
          ? 'Job of an earlier, interrupted attempt adopted; waiting for it to finish.'
          : 'Job created; waiting for it to finish.',
        { namespace, jobName: name },
      );
      return waitAndReport(api, parsed, created, context);
    },

    async resume(input: unknown, checkpoint: Checkpoint, context: TaskContext) {
      const { signal, logger } = context;
      const parsed = parseRunJobInput(input, true);
      const { cluster, namespace } = parsed;
      const { jobName: name, uid } = readJobCheckpoint(checkpoint);
      if (isAbandoned(signal)) {
        // A resumer found the execution gone before resuming: only the clean-up is left to do.
        const cleanup = deps.cleanupOnAbandon ?? context.cleanupOnAbandon ?? false;
        if (cleanup) {
          const api = await openJobApi(cluster, AbortSignal.timeout(cleanupTimeoutMs));
          await deleteAbandonedJob(api, namespace, name, context);
        }
        throw signal.reason;
      }
      const { api, current } = await readCheckpointedJob(
        () => openJobApi(cluster, signal, context.clock),
        namespace,
        name,
        uid,
        context,
      );
      logger.info('Job resumed; waiting for it to finish.', { namespace, jobName: name });
      return waitAndReport(api, parsed, current, context);
    },
  };

  /**
   * The wait, logs and output shared by `run` (from the created Job) and `resume` (from the Job as
   * re-read), so a task handed off any number of times answers exactly as one that was not.
   * Pods the Job controller deleted before a resume (deadline) are not remembered across it.
   */
  async function waitAndReport(
    api: JobApi,
    parsed: RunJobInput,
    created: KubeJob,
    context: TaskContext,
  ): Promise<unknown> {
    const { signal, logger } = context;
    const { namespace, logOptions } = parsed;
    const name = created.metadata?.name ?? '';
    const uid = created.metadata?.uid;

    const failedPods = trackFailedPods({
      api,
      namespace,
      labelSelector: toPodSelector(created),
      signal,
    });
    let finished: Awaited<ReturnType<typeof waitForJobEnd>>;
    try {
      finished = await waitForJobEnd({
        api,
        namespace,
        name,
        uid,
        pollIntervalMs,
        signal,
        ...(context.clock ? { clock: context.clock } : {}),
        onWarning: (message, fields) =>
          logger.warn(message, { namespace, jobName: name, ...fields }),
      });
    } catch (error) {
      const cleanup = deps.cleanupOnAbandon ?? context.cleanupOnAbandon ?? false;
      if (cleanup && isLeftToNobody(context)) {
        await deleteAbandonedJob(api, namespace, name, context);
      }
      throw error;
    } finally {
      await failedPods.stop();
    }
    logger.info('Job finished.', { namespace, jobName: name, outcome: finished.outcome });

    const finalJob = toOutputJob(finished.job);
    const needPods = finished.outcome === 'Failed' || logOptions.retrieveLogs;
    const pods = needPods ? await api.listPods(namespace, toPodSelector(finalJob), signal) : [];
    if (finished.outcome === 'Failed') {
      // Pods deleted by the Job controller (deadline) are described as they were last seen.
      const listed = new Set(pods.map((pod) => pod.metadata?.name));
      const gone = failedPods.pods().filter((pod) => !listed.has(pod.metadata?.name));
      throw await makeJobFailedError({
        job: finalJob,
        namespace,
        pods: [...pods, ...gone],
        ...(logOptions.retrieveLogs ? { api, logParameters: logOptions.logParameters } : {}),
        signal,
      });
    }
    if (!logOptions.retrieveLogs) return finalJob;
    const logs = await collectLogs({
      api,
      namespace,
      pods,
      rawLogs: logOptions.rawLogs,
      logParameters: logOptions.logParameters,
      outputWithoutLogs: finalJob,
      maxOutputBytes,
      signal,
    });
    return { ...finalJob, logs };
  }

  async function deleteAbandonedJob(
    api: JobApi,
    namespace: string,
    name: string,
    context: TaskContext,
  ): Promise<void> {
    // The task's own signal is aborted by now; the clean-up gets its own, bounded, time.
    try {
      await api.deleteJob(namespace, name, 'Background', AbortSignal.timeout(cleanupTimeoutMs));
      context.logger.info('Abandoned Job deleted.', { namespace, jobName: name });
    } catch (error) {
      context.logger.warn('Could not delete the abandoned Job.', {
        namespace,
        jobName: name,
        error: (error as Error).name,
      });
    }
  }

  return [runJob, runJobSync];
};

/** The runJob.sync checkpoint: the created Job's name and uid (the namespace is in the input). */
const readJobCheckpoint = (checkpoint: Checkpoint): { jobName: string; uid?: string } => {
  const { jobName, uid } = checkpoint;
  if (typeof jobName !== 'string' || jobName === '') {
    throw new Error('the runJob.sync checkpoint has no jobName');
  }
  return { jobName, ...(typeof uid === 'string' ? { uid } : {}) };
};
