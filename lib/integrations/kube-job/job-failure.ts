/**
 * `EKS.JobFailed` (contract §2.2): the cause says why, so that a `Catch` can act on it without a
 * trip to the cluster: the failure condition, and for each failed pod its phase and each failed
 * container's reason (`OOMKilled`, `Error`, `ImagePullBackOff`, ...), exit code and message, plus
 * the last lines of its log when `RetrieveLogs` is set.
 */
import { ErrorName, TaskFailedError } from '../../errors.ts';
import type { ContainerStatus, JobApi, KubeJob, KubePod, LogReadOptions } from './job-api.ts';
import { readTail } from './log-text.ts';

/** Lines of each failed container's log put in the cause. */
export const failedLogTailLines = 20;
/** ... and at most this many serialised bytes of them: the whole cause is capped at 32,768. */
const maxFailedLogTailBytes = 2048;
/** Pods described in the cause; a Job with thousands of failed pods is summarised by count. */
const maxFailedPodsInCause = 10;

/** Waiting reasons that are normal steps of a start, not failures. */
const startingReasons = new Set(['ContainerCreating', 'PodInitializing']);

interface FailedContainer {
  Name: string;
  InitContainer?: true;
  State: 'terminated' | 'waiting';
  Reason?: string;
  ExitCode?: number;
  Message?: string;
  LogTail?: string;
  LogError?: string;
}

const describeFailedContainer = (
  status: ContainerStatus,
  init: boolean,
): FailedContainer | undefined => {
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  const base = init ? { Name: status.name, InitContainer: true as const } : { Name: status.name };
  if (terminated !== undefined && terminated.exitCode !== 0) {
    const entry: FailedContainer = { ...base, State: 'terminated' };
    if (terminated.reason !== undefined) entry.Reason = terminated.reason;
    if (terminated.exitCode !== undefined) entry.ExitCode = terminated.exitCode;
    if (terminated.message !== undefined) entry.Message = terminated.message;
    return entry;
  }
  const waiting = status.state?.waiting;
  if (waiting?.reason !== undefined && !startingReasons.has(waiting.reason)) {
    const entry: FailedContainer = { ...base, State: 'waiting', Reason: waiting.reason };
    if (waiting.message !== undefined) entry.Message = waiting.message;
    return entry;
  }
  return undefined;
};

interface FailedPod {
  Name: string;
  Phase: string | null;
  Reason?: string;
  Message?: string;
  Containers: FailedContainer[];
}

/** The pods that failed, or never started: phase Failed, or a container failed or stuck waiting. */
export const describeFailedPods = (pods: readonly KubePod[]): FailedPod[] =>
  pods.flatMap((pod) => {
    const containers = [
      ...(pod.status?.initContainerStatuses ?? []).map((s) => describeFailedContainer(s, true)),
      ...(pod.status?.containerStatuses ?? []).map((s) => describeFailedContainer(s, false)),
    ].filter((entry): entry is FailedContainer => entry !== undefined);
    if (pod.status?.phase !== 'Failed' && containers.length === 0) return [];
    const failed: FailedPod = {
      Name: pod.metadata?.name ?? '',
      Phase: pod.status?.phase ?? null,
      Containers: containers,
    };
    if (pod.status?.reason !== undefined) failed.Reason = pod.status.reason;
    if (pod.status?.message !== undefined) failed.Message = pod.status.message;
    return [failed];
  });

export interface JobFailedErrorOptions {
  job: KubeJob;
  namespace: string;
  pods: readonly KubePod[];
  /** Read the last lines of each failed container (`LogOptions.RetrieveLogs`). */
  api?: JobApi;
  logParameters?: Readonly<Record<string, readonly string[]>>;
  signal: AbortSignal;
}

/** Builds `EKS.JobFailed` for a Job with condition `Failed`. */
export const makeJobFailedError = async (
  options: JobFailedErrorOptions,
): Promise<TaskFailedError> => {
  const { job, namespace, api, signal } = options;
  const name = job.metadata?.name ?? '';
  const condition = job.status?.conditions?.find(
    (entry) => entry.type === 'Failed' && entry.status === 'True',
  );
  const allFailedPods = describeFailedPods(options.pods);
  const failedPods = allFailedPods.slice(0, maxFailedPodsInCause);
  if (api !== undefined) {
    // Only the parameters that select which log (e.g. `previous`) apply; the bound is ours.
    const { tailLines: _tail, limitBytes: _limit, ...extra } = options.logParameters ?? {};
    const query: LogReadOptions = { tailLines: failedLogTailLines, extra };
    await Promise.all(
      failedPods.flatMap((pod) =>
        pod.Containers.filter((container) => container.State === 'terminated').map(
          async (container) => {
            try {
              const stream = await api.readLog(namespace, pod.Name, container.Name, query, signal);
              container.LogTail = (await readTail(stream, maxFailedLogTailBytes)).text;
            } catch (error) {
              signal.throwIfAborted();
              container.LogError =
                error instanceof TaskFailedError ? error.errorName : String(error);
            }
          },
        ),
      ),
    );
  }
  const reason = condition?.reason ?? 'Failed';
  const cause: Record<string, unknown> = {
    JobName: name,
    Namespace: namespace,
    Uid: job.metadata?.uid ?? null,
    Condition: {
      Type: 'Failed',
      Reason: condition?.reason ?? null,
      Message: condition?.message ?? null,
    },
    FailedPods: failedPods,
  };
  if (allFailedPods.length > failedPods.length) cause.FailedPodCount = allFailedPods.length;
  return new TaskFailedError(
    ErrorName.JobFailed,
    `Job ${namespace}/${name} failed: ${reason}${condition?.message ? ` (${condition.message})` : ''}`,
    { failureCause: cause },
  );
};
