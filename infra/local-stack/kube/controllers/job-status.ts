/** A Job's status as its controller writes it: counters, conditions and times. */
import { asRecord, type KubeObject } from '../objects.ts';
import type { JobCondition } from './job-conditions.ts';

export interface JobStatusCounts {
  conditions: JobCondition[];
  active: number;
  ready: number;
  terminating: number;
  succeeded: number;
  failed: number;
  startTime: string | undefined;
  completionTime?: string | undefined;
}

/** The conditions a Job's status holds (none when absent). */
export const jobConditionsOf = (job: KubeObject): JobCondition[] => {
  const status = asRecord(job.status);
  return (Array.isArray(status.conditions) ? status.conditions : []) as JobCondition[];
};

/** Sets `next` on the Job's status, in the shape the real controller writes. */
export const applyJobStatus = (job: KubeObject, next: JobStatusCounts): void => {
  const status = asRecord(job.status);
  if (next.conditions.length > 0) status.conditions = next.conditions;
  // Zero counters are omitted (omitempty), `ready` and `terminating` are pointers: shown as 0.
  for (const key of ['active', 'succeeded', 'failed'] as const) {
    if (next[key] > 0) status[key] = next[key];
    else delete status[key];
  }
  status.ready = next.ready;
  status.terminating = next.terminating;
  if (next.startTime) status.startTime = next.startTime;
  else delete status.startTime;
  if (next.completionTime) status.completionTime = next.completionTime;
  status.uncountedTerminatedPods = {};
  job.status = status;
};
