/**
 * The defaults a real API server adds on create (the registry strategies and the defaulting
 * functions of each API group), for the resources our worker reads back. Clients that compare what
 * they sent with what they got must see these fields, as against a real cluster.
 */
import type { KubeObject } from './objects.ts';
import type { ResourceType } from './resource-types.ts';

type Json = Record<string, unknown>;

const asRecord = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined;

const ensureRecord = (parent: Json, key: string): Json => {
  const existing = asRecord(parent[key]);
  if (existing) return existing;
  const created: Json = {};
  parent[key] = created;
  return created;
};

/** Container defaults from the core/v1 defaulting functions. */
const defaultContainers = (podSpec: Json): void => {
  for (const key of ['containers', 'initContainers']) {
    const list = podSpec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      const container = asRecord(c);
      if (!container) continue;
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      container.resources ??= {};
      if (container.imagePullPolicy === undefined) {
        const image = typeof container.image === 'string' ? container.image : '';
        const tag = image.includes('@') ? 'digest' : (image.split('/').pop()?.split(':')[1] ?? '');
        container.imagePullPolicy = tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
      }
    }
  }
};

const defaultPodSpec = (podSpec: Json, restartPolicy: string): void => {
  podSpec.restartPolicy ??= restartPolicy;
  podSpec.terminationGracePeriodSeconds ??= 30;
  podSpec.dnsPolicy ??= 'ClusterFirst';
  podSpec.securityContext ??= {};
  podSpec.schedulerName ??= 'default-scheduler';
  defaultContainers(podSpec);
};

const defaultJob = (job: KubeObject): void => {
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  job.metadata.generation = 1;
  job.metadata.labels ??= {};
  const labels = job.metadata.labels;
  const spec = ensureRecord(job, 'spec');
  const template = ensureRecord(spec, 'template');
  const templateMeta = ensureRecord(template, 'metadata');
  const templateLabels = ensureRecord(templateMeta, 'labels');
  if (spec.manualSelector !== true) {
    // The selector is the controller uid, so pods of a re-created Job of the same name never match.
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    templateLabels['batch.kubernetes.io/controller-uid'] = uid;
    templateLabels['batch.kubernetes.io/job-name'] = name;
    templateLabels['controller-uid'] = uid;
    templateLabels['job-name'] = name;
    if (Object.keys(labels).length === 0) {
      labels['batch.kubernetes.io/controller-uid'] = uid;
      labels['batch.kubernetes.io/job-name'] = name;
      labels['controller-uid'] = uid;
      labels['job-name'] = name;
    }
    delete spec.manualSelector;
  }
  spec.parallelism ??= 1;
  spec.completions ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  const podSpec = ensureRecord(template, 'spec');
  // Pod defaulting makes an absent restartPolicy `Always`, which Job validation then refuses
  // (the error users of a real cluster see when they forget it).
  defaultPodSpec(podSpec, 'Always');
};

const defaultPod = (pod: KubeObject): void => {
  const spec = ensureRecord(pod, 'spec');
  defaultPodSpec(spec, 'Always');
  spec.serviceAccountName ??= 'default';
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  const status = ensureRecord(pod, 'status');
  status.phase ??= 'Pending';
  status.qosClass ??= 'BestEffort';
};

/** Applies create-time defaults in place; `uid` and `name` are already assigned. */
export const applyObjectDefaults = (type: ResourceType, o: KubeObject): void => {
  if (type.group === 'batch' && type.resource === 'jobs') defaultJob(o);
  else if (type.group === '' && type.resource === 'pods') {
    o.metadata.generation = 1;
    defaultPod(o);
  } else if (type.group === '' && type.resource === 'namespaces') {
    o.metadata.labels ??= {};
    const labels = o.metadata.labels;
    labels['kubernetes.io/metadata.name'] = o.metadata.name ?? '';
    const spec = ensureRecord(o, 'spec');
    spec.finalizers ??= ['kubernetes'];
    const status = ensureRecord(o, 'status');
    status.phase = 'Active';
  } else if (type.group === '' && type.resource === 'secrets') {
    // SetDefaults_Secret: `kubectl create secret generic` sends no type.
    const secret = o as KubeObject & { type?: unknown };
    if (secret.type === undefined || secret.type === '') secret.type = 'Opaque';
  } else if (type.group === 'apps' || type.group === 'batch') {
    o.metadata.generation = 1;
  } else if (!allCoreWithoutGeneration.has(type.resource) && type.group !== '') {
    // Custom resources get a generation, as the CRD registry assigns one.
    o.metadata.generation = 1;
  }
};

const allCoreWithoutGeneration = new Set(['configmaps', 'secrets', 'events', 'serviceaccounts']);
