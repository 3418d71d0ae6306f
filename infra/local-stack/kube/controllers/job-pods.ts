/**
 * A Job's pods as its controller sees them: built from the Job's template with the labels and
 * owner reference real Job pods carry, and read for phase, readiness and restarts.
 */
import { asRecord, type KubeObject } from '../objects.ts';

export const toCount = (value: unknown): number => (typeof value === 'number' ? value : 0);

export const phaseOf = (pod: KubeObject): string => String(asRecord(pod.status).phase ?? 'Pending');

export const isTerminal = (pod: KubeObject): boolean => {
  const phase = phaseOf(pod);
  return phase === 'Succeeded' || phase === 'Failed';
};

export const isReady = (pod: KubeObject): boolean => {
  const conditions = asRecord(pod.status).conditions;
  return (
    Array.isArray(conditions) &&
    conditions.some((c) => asRecord(c).type === 'Ready' && asRecord(c).status === 'True')
  );
};

export const restartCountOf = (pod: KubeObject): number => {
  const statuses = asRecord(pod.status).containerStatuses;
  if (!Array.isArray(statuses)) return 0;
  return statuses.reduce((sum: number, s) => sum + toCount(asRecord(s).restartCount), 0);
};

/** Whether the Job with this uid controls the pod. */
export const isControlledBy = (pod: KubeObject, jobUid: string): boolean =>
  (pod.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === jobUid);

/** A new pod for the Job, from its template (the name is generated from the Job's). */
export const makeJobPod = (job: KubeObject): KubeObject => {
  const name = job.metadata.name ?? '';
  const uid = job.metadata.uid ?? '';
  const template = asRecord(asRecord(job.spec).template);
  const templateMeta = asRecord(template.metadata);
  const labels: Record<string, string> = {
    ...(asRecord(templateMeta.labels) as Record<string, string>),
  };
  // Labels real Job pods carry, even when the template was written without them.
  labels['batch.kubernetes.io/controller-uid'] ??= uid;
  labels['batch.kubernetes.io/job-name'] ??= name;
  labels['controller-uid'] ??= uid;
  labels['job-name'] ??= name;
  const metadata: KubeObject['metadata'] = {
    generateName: `${name}-`,
    namespace: job.metadata.namespace ?? 'default',
    labels,
    ownerReferences: [
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name,
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  const annotations = asRecord(templateMeta.annotations);
  if (Object.keys(annotations).length > 0) {
    metadata.annotations = annotations as Record<string, string>;
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: structuredClone(asRecord(template.spec)),
  };
};
