/**
 * The status a kubelet reports for a pod it runs: container states (waiting, running, terminated,
 * with the previous run as lastState), the phase they add up to, and the pod conditions.
 */
import { asRecord, formatKubeTime, type KubeObject } from '../objects.ts';
import {
  type PodCondition,
  setPodCondition,
  toImageId,
  toPodIp,
  toRuntimeImageName,
} from './pod-status.ts';
import type { Attempt, ContainerRuntime, PodRuntime } from './runtime.ts';

type Json = Record<string, unknown>;

/** The node every pod is bound to. */
export interface KubeletNode {
  nodeName: string;
  /** `status.hostIP` */
  hostIp: string;
}

const containerStatusOf = (container: ContainerRuntime, name: string): Json => {
  const image = container.spec.image ?? '';
  const current = container.attempts.at(-1);
  const previous = container.attempts.length > 1 ? container.attempts.at(-2) : undefined;
  const terminatedOf = (attempt: Attempt): Json => ({
    terminated: {
      containerID: attempt.containerId,
      exitCode: attempt.exitCode ?? 0,
      finishedAt: formatKubeTime(new Date(attempt.finishedAtMs ?? Date.now())),
      ...(attempt.message === undefined ? {} : { message: attempt.message }),
      reason: attempt.reason ?? 'Completed',
      startedAt: formatKubeTime(new Date(attempt.startedAtMs)),
    },
  });
  let state: Json;
  let lastState: Json = {};
  let running = false;
  if (container.waiting) {
    state = {
      waiting: {
        ...(container.waiting.message === undefined ? {} : { message: container.waiting.message }),
        reason: container.waiting.reason,
      },
    };
    if (current) lastState = terminatedOf(current);
  } else if (current && current.finishedAtMs === undefined) {
    running = true;
    state = { running: { startedAt: formatKubeTime(new Date(current.startedAtMs)) } };
    if (previous) lastState = terminatedOf(previous);
  } else if (current) {
    state = terminatedOf(current);
    if (previous) lastState = terminatedOf(previous);
  } else {
    state = { waiting: { reason: 'ContainerCreating' } };
  }
  const status: Json = {};
  if (current) status.containerID = current.containerId;
  status.image = current ? toRuntimeImageName(image) : image;
  status.imageID = current ? toImageId(image) : '';
  status.lastState = lastState;
  status.name = name;
  status.ready = running;
  status.restartCount = container.restartCount;
  status.started = running;
  status.state = state;
  return status;
};

/**
 * What the kubelet's status manager writes for a pod's runtime state: phase, conditions, container
 * statuses and the node's addresses (and, on binding, the node itself). Computed now, applied by
 * the returned function inside the store's read-modify-write.
 */
export const makePodStatusWriter = (
  pod: PodRuntime,
  node: KubeletNode,
  options: { bind?: boolean } = {},
): ((o: KubeObject) => void) => {
  const now = formatKubeTime();
  const containers = [...pod.containers.entries()];
  const statuses = containers.map(([name, c]) => containerStatusOf(c, name));
  const allFinal = containers.every(([, c]) => c.final);
  const anyWaiting = containers.some(([, c]) => c.waiting !== undefined);
  const allRunning = statuses.every((s) => s.ready === true);
  const anyStarted = containers.some(([, c]) => c.attempts.length > 0);
  const allSucceeded = containers.every(([, c]) => c.attempts.at(-1)?.exitCode === 0);
  const phase = allFinal
    ? allSucceeded
      ? 'Succeeded'
      : 'Failed'
    : anyWaiting && containers.some(([, c]) => c.attempts.length === 0)
      ? 'Pending'
      : anyStarted
        ? 'Running'
        : 'Pending';
  const unready = containers.filter((_, i) => statuses[i]?.ready !== true).map(([name]) => name);
  return (o) => {
    if (o.metadata.uid !== pod.uid) return;
    const spec = asRecord(o.spec);
    if (options.bind && !spec.nodeName) spec.nodeName = node.nodeName;
    o.spec = spec;
    const status = asRecord(o.status);
    let conditions = (Array.isArray(status.conditions) ? status.conditions : []) as PodCondition[];
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const terminalReason = phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
    conditions = setPodCondition(
      conditions,
      { type: 'PodReadyToStartContainers', status: anyStarted && !terminal ? 'True' : 'False' },
      now,
    );
    conditions = setPodCondition(
      conditions,
      {
        type: 'Initialized',
        status: 'True',
        ...(phase === 'Succeeded' ? { reason: 'PodCompleted' } : {}),
      },
      now,
    );
    const readiness = terminal
      ? { status: 'False' as const, reason: terminalReason }
      : allRunning
        ? { status: 'True' as const }
        : {
            status: 'False' as const,
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${unready.join(' ')}]`,
          };
    conditions = setPodCondition(conditions, { type: 'Ready', ...readiness }, now);
    conditions = setPodCondition(conditions, { type: 'ContainersReady', ...readiness }, now);
    conditions = setPodCondition(conditions, { type: 'PodScheduled', status: 'True' }, now);
    status.conditions = conditions;
    status.containerStatuses = statuses;
    status.hostIP = node.hostIp;
    status.hostIPs = [{ ip: node.hostIp }];
    status.phase = phase;
    status.podIP = toPodIp(pod.uid);
    status.podIPs = [{ ip: toPodIp(pod.uid) }];
    status.qosClass ??= 'BestEffort';
    if (pod.startTime) status.startTime ??= pod.startTime;
    o.status = status;
  };
};
