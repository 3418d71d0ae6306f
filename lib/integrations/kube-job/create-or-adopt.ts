/**
 * Creating the Job of a `runJob.sync` task so that a `Retry` after an interrupted attempt works
 * (contract §6; `eks:runJob` without `.sync` does not adopt: it ends as soon as the Job exists). An attempt that was interrupted (SIGTERM without a hand-off queue, a killed
 * worker, a Lambda that ran out) may leave its Job running; the retry then finds the name taken.
 * Natively that is `EKS.409`, and the first Job runs on with nobody waiting for it.
 *
 * The rule: the worker writes an annotation with a fingerprint of the request (cluster, namespace
 * and the Job exactly as the task input gave it) on every Job it creates. On a 409 it reads the
 * existing Job and adopts it, i.e. waits for it as if it had just created it, only when
 * - the Job carries the same fingerprint (this worker created it, for an identical request), and
 * - it has not ended (no `Complete`/`Failed` condition) and is not being deleted.
 * Anything else (a Job someone else made, a different spec, a finished run) stays `EKS.409`, as
 * natively. A state machine that wants executions never to share a Job puts `$$.Execution.Id` in
 * an annotation of the Job (then the fingerprints differ) or uses `generateName`.
 */
import { createHash } from 'node:crypto';
import { KubeApiError } from '../../kube/client.ts';
import type { JobApi, KubeJob } from './job-api.ts';
import { findTerminalCondition } from './wait-for-job.ts';

/** The annotation carrying the request fingerprint on every Job the worker creates. */
export const fingerprintAnnotation = 'eks-activity-worker/request-fingerprint';

/**
 * SHA-256 of the request. Step Functions sends a `Retry` the same effective input, key order
 * included, so the JSON text is stable across attempts without canonicalisation.
 */
export const makeRequestFingerprint = (clusterName: string, namespace: string, job: KubeJob) =>
  createHash('sha256')
    .update(JSON.stringify([clusterName, namespace, job]))
    .digest('hex');

/** The Job to send: the requested one with the fingerprint annotation added. */
export const withFingerprint = (job: KubeJob, fingerprint: string): KubeJob => ({
  ...job,
  metadata: {
    ...job.metadata,
    annotations: { ...job.metadata?.annotations, [fingerprintAnnotation]: fingerprint },
  },
});

/** The Job as output: our annotation removed, so the output is the Job the task asked for. */
export const withoutFingerprint = (job: KubeJob): KubeJob => {
  const annotations = job.metadata?.annotations;
  if (annotations === undefined || !(fingerprintAnnotation in annotations)) return job;
  const { [fingerprintAnnotation]: _ours, ...rest } = annotations;
  const { annotations: _all, ...metadata } = job.metadata ?? {};
  return {
    ...job,
    metadata: Object.keys(rest).length === 0 ? metadata : { ...metadata, annotations: rest },
  };
};

export interface CreatedOrAdopted {
  job: KubeJob;
  /** Whether the Job was found, created by an earlier attempt of the same request. */
  adopted: boolean;
}

const isConflict = (error: unknown): boolean =>
  error instanceof KubeApiError && error.statusCode === 409;

/**
 * Creates the Job, or adopts the one an earlier, interrupted attempt of the same request created.
 * @throws the create's own `EKS.409` when the existing Job is not provably that earlier attempt.
 */
export const createOrAdoptJob = async (
  api: JobApi,
  request: {
    clusterName: string;
    namespace: string;
    /** The Job as the task input gave it: what the fingerprint covers. */
    job: KubeJob;
    /** Marks of this attempt (e.g. its poll id), added to the Job sent but not fingerprinted. */
    markAttempt?: (job: KubeJob) => KubeJob;
  },
  signal: AbortSignal,
): Promise<CreatedOrAdopted> => {
  const { namespace, job, markAttempt = (unmarked) => unmarked } = request;
  const fingerprint = makeRequestFingerprint(request.clusterName, namespace, job);
  try {
    return {
      job: await api.createJob(namespace, withFingerprint(markAttempt(job), fingerprint), signal),
      adopted: false,
    };
  } catch (error) {
    const name = job.metadata?.name;
    if (!isConflict(error) || name === undefined) throw error;
    let existing: KubeJob;
    try {
      existing = await api.getJob(namespace, name, signal);
    } catch {
      throw error; // Gone again, or unreadable: nothing proven, the 409 stands.
    }
    const sameRequest = existing.metadata?.annotations?.[fingerprintAnnotation] === fingerprint;
    const running =
      findTerminalCondition(existing) === undefined &&
      (existing.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp ===
        undefined;
    if (sameRequest && running) return { job: existing, adopted: true };
    throw error;
  }
};
