/**
 * Remembers the pods of a Job that failed or are stuck (ImagePullBackOff, ...) while the Job runs.
 *
 * Why: when a Job fails on its deadline, the Job controller deletes its active pods before it
 * writes the `Failed` condition, so a pod that never pulled its image is gone by the time the
 * cause is built. A pod watch from the Job's creation keeps the last state of each such pod.
 * Best effort: a watch that fails is not retried (the final pod list still describes the rest).
 */
import type { JobApi, KubePod } from './job-api.ts';
import { describeFailedPods } from './job-failure.ts';

/** Failed pods remembered at most; the cause describes fewer anyway. */
const maxRememberedPods = 50;

export interface FailedPodTracker {
  /** The remembered failed pods, last state seen. */
  pods(): KubePod[];
  /** Ends the watch. */
  stop(): Promise<void>;
}

export const trackFailedPods = (options: {
  api: JobApi;
  namespace: string;
  labelSelector: string;
  resourceVersion: string;
  signal: AbortSignal;
}): FailedPodTracker => {
  const remembered = new Map<string, KubePod>();
  const stopper = new AbortController();
  const signal = AbortSignal.any([options.signal, stopper.signal]);
  const watching = (async () => {
    let resourceVersion = options.resourceVersion;
    while (!signal.aborted) {
      let expired = false;
      try {
        await options.api.watchPods(
          options.namespace,
          options.labelSelector,
          resourceVersion,
          (event) => {
            if (event.type === 'ERROR') {
              expired = true;
              return;
            }
            const pod = event.object;
            resourceVersion = pod.metadata?.resourceVersion ?? resourceVersion;
            const name = pod.metadata?.name;
            if (event.type === 'BOOKMARK' || name === undefined) return;
            if (describeFailedPods([pod]).length > 0) {
              if (remembered.has(name) || remembered.size < maxRememberedPods) {
                remembered.set(name, pod);
              }
            } else if (event.type !== 'DELETED') {
              // Recovered (a waiting container that started after all): forget it.
              remembered.delete(name);
            }
          },
          signal,
        );
      } catch {
        return;
      }
      if (expired) return;
    }
  })();
  return {
    pods: () => [...remembered.values()],
    async stop() {
      stopper.abort();
      await watching;
    },
  };
};
