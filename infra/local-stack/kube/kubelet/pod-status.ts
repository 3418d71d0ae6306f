/**
 * Pod status pieces as a kubelet writes them: conditions in the kubelet's order, container states,
 * image names as the runtime reports them.
 */
import { createHash } from 'node:crypto';

type Json = Record<string, unknown>;

export interface PodCondition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

/** The order `kubectl get pod -o yaml` shows on a current (1.31+) kubelet. */
const conditionOrder = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
];

/**
 * Sets a condition, keeping `lastTransitionTime` when the status does not change (as the kubelet
 * does), and returns the conditions in the kubelet's order.
 */
export const setPodCondition = (
  conditions: readonly PodCondition[],
  next: { type: string; status: 'True' | 'False'; reason?: string; message?: string },
  now: string,
): PodCondition[] => {
  const previous = conditions.find((c) => c.type === next.type);
  const condition: PodCondition = {
    type: next.type,
    status: next.status,
    lastProbeTime: null,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now,
  };
  if (next.reason !== undefined) condition.reason = next.reason;
  if (next.message !== undefined) condition.message = next.message;
  const others = conditions.filter((c) => c.type !== next.type);
  return [...others, condition].sort(
    (a, b) => conditionOrder.indexOf(a.type) - conditionOrder.indexOf(b.type),
  );
};

const hex = (text: string, length: number): string =>
  createHash('sha256').update(text).digest('hex').slice(0, length);

/** `perl` -> `docker.io/library/perl:latest`, as containerd reports an image. */
export const toRuntimeImageName = (image: string): string => {
  const firstSlash = image.indexOf('/');
  const firstPart = firstSlash < 0 ? '' : image.slice(0, firstSlash);
  const hasRegistry =
    firstSlash >= 0 &&
    (firstPart.includes('.') || firstPart.includes(':') || firstPart === 'localhost');
  let name = hasRegistry
    ? image
    : firstSlash < 0
      ? `docker.io/library/${image}`
      : `docker.io/${image}`;
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !name.includes('@')) name = `${name}:latest`;
  return name;
};

/** A stable digest per image name: the same image always "resolves" to the same imageID. */
export const toImageId = (image: string): string => {
  const runtimeName = toRuntimeImageName(image);
  const repository = runtimeName.replace(/[:@][^/]*$/, '');
  return `${repository}@sha256:${hex(runtimeName, 64)}`;
};

/** A fresh `containerd://<64 hex>` id. */
export const makeContainerId = (seed: string): string =>
  `containerd://${hex(`${seed}/${Math.random()}/${Date.now()}`, 64)}`;

/** A deterministic pod IP in 10.0.0.0/16 (the node's VPC range). */
export const toPodIp = (uid: string): string => {
  const digest = createHash('sha256').update(uid).digest();
  return `10.0.${(digest[0] ?? 0) % 250}.${((digest[1] ?? 0) % 250) + 2}`;
};

export type ContainerStatus = Json;
