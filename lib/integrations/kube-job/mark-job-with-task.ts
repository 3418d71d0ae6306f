/**
 * Marks a Job the worker creates with the task it belongs to, so `kubectl` leads from a Job to
 * the execution and the worker's log lines and back: the annotation holds the poll's workerName
 * (what the execution history's ActivityStarted shows and every log line of the task carries);
 * the labels make it selectable (`kubectl get jobs -l eks-activity-worker/poll-id=<id>`).
 * Nothing secret: the poll id is random and the task id a hash of the token.
 */
import type { TaskContext } from '../types.ts';
import type { KubeJob } from './job-api.ts';

export const workerNameAnnotation = 'eks-activity-worker/worker-name';
export const pollIdLabel = 'eks-activity-worker/poll-id';
export const taskIdLabel = 'eks-activity-worker/task-id';

/** Label values: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
const isLabelValue = (value: string): boolean =>
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$/.test(value);

/** The Job with the task's marks added to its own metadata (the pod template is left as it is). */
export const markJobWithTask = (
  job: KubeJob,
  context: Pick<TaskContext, 'poll' | 'taskId'>,
): KubeJob => {
  const labels: Record<string, string> = {};
  if (context.poll !== undefined && isLabelValue(context.poll.pollId)) {
    labels[pollIdLabel] = context.poll.pollId;
  }
  if (context.taskId !== undefined && isLabelValue(context.taskId)) {
    labels[taskIdLabel] = context.taskId;
  }
  const annotations: Record<string, string> =
    context.poll === undefined ? {} : { [workerNameAnnotation]: context.poll.workerName };
  if (Object.keys(labels).length === 0 && Object.keys(annotations).length === 0) return job;
  const metadata = job.metadata ?? {};
  return {
    ...job,
    metadata: {
      ...metadata,
      labels: { ...metadata.labels, ...labels },
      annotations: { ...metadata.annotations, ...annotations },
    },
  };
};
