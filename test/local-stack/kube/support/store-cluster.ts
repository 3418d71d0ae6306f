/**
 * A cluster without the HTTP layer, for tests of the Job controller and the kubelet: the object
 * store with both running on it, and helpers to wait for store state with a bounded wait.
 */
import { JobController } from '../../../../infra/local-stack/kube/controllers/job-controller.ts';
import {
  type ExecutionMode,
  SimulatedKubelet,
} from '../../../../infra/local-stack/kube/kubelet/kubelet.ts';
import type { KubeObject } from '../../../../infra/local-stack/kube/objects.ts';
import { ObjectStore } from '../../../../infra/local-stack/kube/store.ts';

export interface StoreCluster {
  store: ObjectStore;
  kubelet: SimulatedKubelet;
  jobController: JobController;
  close(): Promise<void>;
}

export const startStoreCluster = (
  options: { execution?: ExecutionMode; podStartDelayMs?: number } = {},
): StoreCluster => {
  const store = new ObjectStore();
  const kubelet = new SimulatedKubelet({
    store,
    execution: options.execution ?? 'scripted',
    podStartDelayMs: options.podStartDelayMs ?? 20,
    defaultRunMs: 50,
    backOffDelayMs: 30,
  });
  const jobController = new JobController({ store });
  jobController.start();
  kubelet.start();
  return {
    store,
    kubelet,
    jobController,
    async close() {
      jobController.close();
      await kubelet.close();
    },
  };
};

/** Polls `read` until `done` holds, failing after `timeoutMs` with the last value seen. */
export const waitUntil = async <T>(
  read: () => T,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

export const phaseOf = (pod: KubeObject | undefined): unknown =>
  (pod?.status as { phase?: string } | undefined)?.phase;

/** The fields of a container status the tests read. */
export interface ContainerStatusView {
  name: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  state: {
    waiting?: { reason: string; message?: string };
    running?: { startedAt: string };
    terminated?: {
      exitCode: number;
      reason: string;
      message?: string;
      startedAt: string;
      finishedAt: string;
      containerID: string;
    };
  };
  lastState: { terminated?: { exitCode: number; reason: string } };
}

export const containerStatusesOf = (pod: KubeObject | undefined): ContainerStatusView[] =>
  (pod?.status as { containerStatuses?: ContainerStatusView[] } | undefined)?.containerStatuses ??
  [];
