/**
 * Job conditions with the reasons and messages of the current (1.31+) Job controller
 * (kubernetes/kubernetes pkg/controller/job/job_controller.go). A finishing Job first gets an
 * interim condition (`SuccessCriteriaMet` / `FailureTarget`), then, once its pods have
 * terminated, the terminal one (`Complete` / `Failed`) with the same reason and message.
 */

export interface JobCondition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const JobConditionType = {
  SuccessCriteriaMet: 'SuccessCriteriaMet',
  Complete: 'Complete',
  FailureTarget: 'FailureTarget',
  Failed: 'Failed',
  Suspended: 'Suspended',
} as const;

export const jobFailureReasons = {
  BackoffLimitExceeded: {
    reason: 'BackoffLimitExceeded',
    message: 'Job has reached the specified backoff limit',
  },
  DeadlineExceeded: {
    reason: 'DeadlineExceeded',
    message: 'Job was active longer than specified deadline',
  },
} as const;

export type JobFailure = (typeof jobFailureReasons)[keyof typeof jobFailureReasons];

export const jobSuccess = {
  reason: 'CompletionsReached',
  message: 'Reached expected number of succeeded pods',
} as const;

export const makeJobCondition = (
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: string,
): JobCondition => ({
  type,
  status,
  lastProbeTime: now,
  lastTransitionTime: now,
  reason,
  message,
});

export const findJobCondition = (
  conditions: readonly JobCondition[],
  type: string,
): JobCondition | undefined => conditions.find((c) => c.type === type && c.status === 'True');

/**
 * Sets a condition to a status: appended when new, updated in place when its status changes,
 * untouched otherwise (so a re-sync does not bump timestamps).
 */
export const ensureJobCondition = (
  conditions: readonly JobCondition[],
  next: JobCondition,
): JobCondition[] => {
  const index = conditions.findIndex((c) => c.type === next.type);
  if (index < 0) return [...conditions, next];
  const existing = conditions[index];
  if (existing && existing.status === next.status) return [...conditions];
  const copy = [...conditions];
  copy[index] = next;
  return copy;
};
