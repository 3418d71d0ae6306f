/**
 * The rules a Job's spec sets for its controller, apart from the mechanics of applying them: how
 * many pods should run, when the Job has failed (backoff limit, deadline) and when it is complete.
 */
import { asRecord, type KubeObject } from '../objects.ts';
import { type JobFailure, jobFailureReasons } from './job-conditions.ts';
import { restartCountOf } from './job-pods.ts';

export interface JobSpecView {
  backoffLimit: number;
  /** Undefined: any one success completes the Job (the work-queue pattern). */
  completions: number | undefined;
  parallelism: number;
  suspended: boolean;
  activeDeadlineSeconds: number | undefined;
  restartPolicy: unknown;
}

/** The spec fields the controller reads, with the API server's defaults. */
export const readJobSpec = (job: KubeObject): JobSpecView => {
  const spec = asRecord(job.spec);
  return {
    backoffLimit: typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6,
    completions: typeof spec.completions === 'number' ? spec.completions : undefined,
    parallelism: typeof spec.parallelism === 'number' ? spec.parallelism : 1,
    suspended: spec.suspend === true,
    activeDeadlineSeconds:
      typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined,
    restartPolicy: asRecord(asRecord(spec.template).spec).restartPolicy,
  };
};

/**
 * Why a running Job fails now, if it does: past its backoff limit (failed pods, or with
 * `restartPolicy: OnFailure` restarts of its active pods) or active past its deadline.
 */
export const decideJobFailure = (
  spec: JobSpecView,
  counts: { failed: number; newFailures: number; activePods: readonly KubeObject[] },
  startTime: string | undefined,
  nowMs: number,
): JobFailure | undefined => {
  const restartsOnFailure =
    spec.restartPolicy === 'OnFailure'
      ? counts.activePods.reduce((sum, p) => sum + restartCountOf(p), 0)
      : 0;
  if (
    (counts.newFailures > 0 && counts.failed > spec.backoffLimit) ||
    (restartsOnFailure > 0 && restartsOnFailure >= spec.backoffLimit)
  ) {
    return jobFailureReasons.BackoffLimitExceeded;
  }
  if (
    spec.activeDeadlineSeconds !== undefined &&
    startTime !== undefined &&
    !spec.suspended &&
    nowMs - Date.parse(startTime) >= spec.activeDeadlineSeconds * 1000
  ) {
    return jobFailureReasons.DeadlineExceeded;
  }
  return undefined;
};

/** Whether enough pods succeeded (and none still runs) for the Job to be complete. */
export const hasEnoughSuccesses = (
  spec: JobSpecView,
  succeeded: number,
  activeCount: number,
): boolean =>
  activeCount === 0 &&
  (spec.completions === undefined ? succeeded > 0 : succeeded >= spec.completions);

/** How many pods should be active: none once a work-queue Job has a success. */
export const wantedActivePods = (spec: JobSpecView, succeeded: number): number =>
  spec.completions === undefined
    ? succeeded > 0
      ? 0
      : spec.parallelism
    : Math.max(0, Math.min(spec.parallelism, spec.completions - succeeded));
