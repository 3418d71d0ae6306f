/**
 * Remembers the pods of a Job that failed or are stuck (ImagePullBackOff, ...) while the Job runs.
 *
 * Why: when a Job fails on its deadline, the Job controller deletes its active pods before it
 * writes the `Failed` condition, so a pod that never pulled its image is gone by the time the
 * cause is built. A pod subscription from the Job's creation keeps the last state of each such pod.
 * Best effort: a refused subscription is not retried (the final pod list still describes the rest).
 */
import type { JobApi, KubePod, PodEvent } from './job-api.ts';
import { describeFailedPods } from './job-failure.ts';

/** Failed pods remembered at most; the cause describes fewer anyway. */
const maxRememberedPods = 50;

export interface FailedPodTracker {
  /** The remembered failed pods, last state seen. */
  pods(): KubePod[];
  /** Ends the subscription. */
  stop(): Promise<void>;
}

export const trackFailedPods = (options: {
  api: JobApi;
  namespace: string;
  labelSelector: string;
  signal: AbortSignal;
}): FailedPodTracker => {
  const remembered = new Map<string, KubePod>();
  const stopper = new AbortController();
  const signal = AbortSignal.any([options.signal, stopper.signal]);
  const onEvent = ({ type, object: pod }: PodEvent) => {
    const name = pod.metadata?.name;
    if (name === undefined) return;
    if (describeFailedPods([pod]).length > 0) {
      if (remembered.has(name) || remembered.size < maxRememberedPods) remembered.set(name, pod);
    } else if (type !== 'DELETED') {
      // Recovered (a waiting container that started after all): forget it.
      remembered.delete(name);
    }
  };
  // Ends only by rejecting: on stop, on abort, or when the watch is refused.
  const subscribed = options.api
    .subscribeToPods(options.namespace, options.labelSelector, onEvent, signal)
    .catch(() => {});
  return {
    pods: () => [...remembered.values()],
    async stop() {
      stopper.abort();
      await subscribed;
    },
  };
};
