/**
 * The {@link JobApi} port over `lib/kube`'s raw client: the Kubernetes REST paths for Jobs, Pods
 * and pod logs. Errors pass through unchanged (`EKS.<status>`, `EKS.ConnectionFailed`).
 */

import type { Clock } from '../../clock.ts';
import { parseJson, stringifyJson } from '../../json/exact-json.ts';
import type { KubeClient, QueryParameters } from '../../kube/client.ts';
import type { ClusterTarget } from '../../kube/cluster-target.ts';
import type { KubeConnector } from '../../kube/connection.ts';
import { watchCollection } from '../../kube/shared-watch.ts';
import type { JobApi, JobEvent, KubeJob, KubePod, PodEvent } from './job-api.ts';

/** Pods listed per page: a Job with thousands of pods must not become one huge response. */
const podsPageSize = 500;

const segment = (value: string) => encodeURIComponent(value);
const jobsPath = (namespace: string) => `/apis/batch/v1/namespaces/${segment(namespace)}/jobs`;

const parseJsonAs = <T>(body: string): T => parseJson(body) as T;

/**
 * A matcher for the equality selectors this integration builds (`a=b,c=d`, see `toPodSelector`),
 * applied on the worker's side of a shared namespace watch.
 */
export const matchesEqualitySelector = (selector: string) => {
  const required = selector
    .split(',')
    .filter((term) => term !== '')
    .map((term) => {
      const [key = '', value = ''] = term.split(/==?/, 2);
      return [key.trim(), value.trim()] as const;
    });
  return (labels: Readonly<Record<string, string>> | undefined): boolean =>
    required.every(([key, value]) => labels?.[key] === value);
};

export interface KubeJobApiOptions {
  /**
   * The namespace's Jobs are re-listed this often while any is waited on (a fallback for a watch
   * that is silently stuck). @default 60000
   */
  resyncIntervalMs?: number;
  /** What the shared watches sleep on. @default systemClock */
  clock?: Clock;
}

/** The runJob integrations' view of one cluster. */
export const makeKubeJobApi = (client: KubeClient, options: KubeJobApiOptions = {}): JobApi => ({
  async createJob(namespace, job, signal) {
    const response = await client.request({
      method: 'POST',
      path: jobsPath(namespace),
      body: stringifyJson(job),
      contentType: 'application/json',
      signal,
    });
    return parseJsonAs<KubeJob>(response.body);
  },

  async getJob(namespace, name, signal) {
    const response = await client.request({
      method: 'GET',
      path: `${jobsPath(namespace)}/${segment(name)}`,
      signal,
    });
    return parseJsonAs<KubeJob>(response.body);
  },

  // Both subscriptions are to watches shared per cluster and namespace (shared-watch.ts): one
  // stream serves every task waiting there, so hundreds of tasks do not mean hundreds of
  // connections. No starting version is needed: the latest state is replayed on subscribe.
  // The Job collection is re-listed once per interval for all of them: a Job the list no longer
  // holds was deleted while the watch was silent.
  subscribeToJob(namespace, name, onEvent, signal) {
    return watchCollection(
      client,
      jobsPath(namespace),
      (object) => object.metadata?.name === name,
      (event) => onEvent(event as JobEvent),
      signal,
      {
        index: { name },
        resyncIntervalMs: options.resyncIntervalMs ?? 60_000,
        ...(options.clock ? { clock: options.clock } : {}),
        onResync: (listed) => {
          if (!listed.has(name))
            onEvent({ type: 'DELETED', object: { metadata: { name, namespace } } });
        },
      },
    );
  },

  subscribeToPods(namespace, labelSelector, onEvent, signal) {
    const matches = matchesEqualitySelector(labelSelector);
    // Indexed by its first term when that is `key=value` (the selectors toPodSelector builds).
    const first = /^([^!=,\s]+)\s*==?\s*([^!=,\s]*)$/.exec(
      labelSelector.split(',')[0]?.trim() ?? '',
    );
    return watchCollection(
      client,
      `/api/v1/namespaces/${segment(namespace)}/pods`,
      (object) => matches((object as KubePod).metadata?.labels),
      (event) => onEvent(event as PodEvent),
      signal,
      {
        ...(first ? { index: { label: first[1] ?? '', value: first[2] ?? '' } } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      },
    );
  },

  async listPods(namespace, labelSelector, signal) {
    const pods: KubePod[] = [];
    let continueToken: string | undefined;
    do {
      const query: Record<string, string[]> = {
        labelSelector: [labelSelector],
        limit: [String(podsPageSize)],
      };
      if (continueToken !== undefined) query.continue = [continueToken];
      const response = await client.request({
        method: 'GET',
        path: `/api/v1/namespaces/${segment(namespace)}/pods`,
        query,
        signal,
      });
      const page = parseJsonAs<{ items?: KubePod[]; metadata?: { continue?: string } }>(
        response.body,
      );
      pods.push(...(page.items ?? []));
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    return pods;
  },

  async deleteJob(namespace, name, propagationPolicy, signal) {
    await client.request({
      method: 'DELETE',
      path: `${jobsPath(namespace)}/${segment(name)}`,
      query: { propagationPolicy: [propagationPolicy] },
      signal,
    });
  },

  readLog(namespace, pod, container, options, signal) {
    const query: Record<string, readonly string[]> = { ...options.extra, container: [container] };
    if (options.tailLines !== undefined) query.tailLines = [String(options.tailLines)];
    if (options.limitBytes !== undefined) query.limitBytes = [String(options.limitBytes)];
    return client.streamText(
      `/api/v1/namespaces/${segment(namespace)}/pods/${segment(pod)}/log`,
      query as QueryParameters,
      signal,
    );
  },
});

/**
 * Opens the Job API of the cluster a task names, through the worker's shared connector; its
 * watches sleep on `clock` (the task's, i.e. the worker's).
 */
export const makeJobApiOpener =
  (connect: KubeConnector['connect'], options: KubeJobApiOptions = {}) =>
  async (cluster: ClusterTarget, signal: AbortSignal, clock?: Clock): Promise<JobApi> =>
    makeKubeJobApi(await connect(cluster, signal), clock ? { ...options, clock } : options);
