/** What the simulated kubelet knows of the pods it runs, between status writes. */

import type { ContainerLog } from './container-log.ts';
import type { ContainerScript } from './container-script.ts';
import type { LocalContainerSpec, LocalProcess } from './local-process.ts';

/** One run of a container. */
export interface Attempt {
  containerId: string;
  startedAtMs: number;
  log: ContainerLog;
  finishedAtMs?: number;
  exitCode?: number;
  reason?: string;
  message?: string;
  process?: LocalProcess;
  timer?: NodeJS.Timeout;
}

export interface ContainerRuntime {
  spec: LocalContainerSpec & { image?: string };
  script: ContainerScript;
  /** The previous attempt and the current one, as a kubelet keeps them (older ones are gone). */
  attempts: Attempt[];
  restartCount: number;
  waiting?: { reason: string; message?: string };
  /** No more attempts will come (or the pod is being stopped). */
  final: boolean;
}

export interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  restartPolicy: string;
  /** The key attempts are counted under for `failAttempts`: the owning Job, or the pod. */
  attemptKey: string;
  containers: Map<string, ContainerRuntime>;
  timers: Set<NodeJS.Timeout>;
  stopped: boolean;
  startTime?: string;
}
