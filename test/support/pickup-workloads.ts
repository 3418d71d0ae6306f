/**
 * Pickup measurements shared by the pickup e2e test and the `pickup` bench part: one quick native
 * task per activity, a long runJob.sync to hold slots, and TaskScheduled -> ActivityStarted read
 * from an execution's history (the local Step Functions stamps events in milliseconds).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

/** What a state needs to reach the local cluster. */
export interface ClusterCoordinates {
  ClusterName: string;
  Endpoint: string;
  CertificateAuthority: string;
}

const scriptAnnotation = 'local.eks-activity-worker/script';

/** A batch/v1 Job whose container the local kubelet scripts to run `durationMs`. */
export const scriptedJob = (name: string, durationMs: number) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { annotations: { [scriptAnnotation]: JSON.stringify({ durationMs }) } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
    },
  },
});

/** `eks-runJob-sync` -> `arn:aws:states:::eks:runJob.sync`. */
export const nativeResourceFor = (suffix: string): string =>
  `arn:aws:states:::eks:${suffix.replace(/^eks-/, '').replace(/-sync$/, '.sync')}`;

/**
 * Parameters that make the task of `suffix` end within a moment: eks:call reads a namespace, the
 * Jobs run 50 ms, and the control-plane calls name resources that do not exist (EKS answers at
 * once: not found, or invalid parameters). Only the pickup is measured; the outcome is reported.
 */
const quickParameters = (
  suffix: string,
  cluster: ClusterCoordinates,
  jobName: string,
): Record<string, unknown> => {
  if (suffix === 'eks-call') {
    return { ...cluster, Method: 'GET', Path: '/api/v1/namespaces/default' };
  }
  if (suffix.startsWith('eks-runJob')) return { ...cluster, Job: scriptedJob(jobName, 50) };
  const name = `pickup-missing-${jobName}`;
  if (suffix.includes('Nodegroup')) return { ClusterName: name, NodegroupName: name };
  if (suffix.includes('FargateProfile')) return { ClusterName: name, FargateProfileName: name };
  return { Name: name };
};

/** A one-state native definition running a quick task of the activity `suffix` serves. */
export const quickTaskDefinition = (
  suffix: string,
  cluster: ClusterCoordinates,
  jobName: string,
) => ({
  StartAt: 'Task',
  States: {
    Task: {
      Type: 'Task',
      Resource: nativeResourceFor(suffix),
      Parameters: quickParameters(suffix, cluster, jobName),
      End: true,
    },
  },
});

/** A native runJob.sync definition whose Job name and duration come from the input. */
export const waitingJobDefinition = (cluster: ClusterCoordinates) => ({
  StartAt: 'Wait for the Job',
  States: {
    'Wait for the Job': {
      Type: 'Task',
      Resource: 'arn:aws:states:::eks:runJob.sync',
      Parameters: {
        ...cluster,
        Job: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { 'name.$': '$.jobName' },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: { annotations: { [scriptAnnotation]: '{"durationMs":3600000}' } },
              spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
            },
          },
        },
      },
      End: true,
    },
  },
});

/** Milliseconds from the task being scheduled to a worker holding it, or undefined if not yet. */
export const readPickupMs = (events: readonly HistoryEvent[]): number | undefined => {
  const scheduled = events.find((event) => event.type === 'ActivityScheduled')?.timestamp;
  const started = events.find((event) => event.type === 'ActivityStarted')?.timestamp;
  if (scheduled === undefined || started === undefined) return undefined;
  return started.getTime() - scheduled.getTime();
};
