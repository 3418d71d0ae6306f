/**
 * Pod logs as the kubelet serves them: the one container (or the named one), the current run or
 * with `previous` the one before, tailed, limited and followed while it runs; the kubelet's own
 * words when there is no such log yet.
 */
import type { Readable } from 'node:stream';
import type { PodLogQuery } from '../log-source.ts';
import { asRecord } from '../objects.ts';
import { builtinTypes } from '../resource-types.ts';
import { makeBadRequestError, makeNotFoundError } from '../status.ts';
import type { ObjectStore } from '../store.ts';
import { limitStreamBytes } from './log-stream.ts';
import type { Attempt, PodRuntime } from './runtime.ts';

/** Opens a pod's container log. @throws KubeApiError 404 for an unknown pod, 400 as the kubelet */
export const openPodLog = (
  store: ObjectStore,
  runtimeOf: (uid: string) => PodRuntime | undefined,
  namespace: string,
  podName: string,
  query: PodLogQuery,
): Readable => {
  const object = store.get(builtinTypes.pods, namespace, podName);
  if (!object) throw makeNotFoundError(builtinTypes.pods, podName);
  const spec = asRecord(object.spec);
  const names = (Array.isArray(spec.containers) ? spec.containers : []).map((c) =>
    String(asRecord(c).name ?? ''),
  );
  let name = query.container;
  if (name === undefined || name === '') {
    if (names.length !== 1) {
      throw makeBadRequestError(
        `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`,
      );
    }
    name = names[0] ?? '';
  }
  if (!names.includes(name)) {
    throw makeBadRequestError(`container ${name} is not valid for pod ${podName}`);
  }
  const container = runtimeOf(object.metadata.uid ?? '')?.containers.get(name);
  const attempts = container?.attempts ?? [];
  let attempt: Attempt | undefined;
  if (query.previous) {
    attempt = attempts.length > 1 ? attempts.at(-2) : undefined;
    if (!attempt) {
      throw makeBadRequestError(
        `previous terminated container "${name}" in pod "${podName}" not found`,
      );
    }
  } else {
    attempt = attempts.at(-1);
    if (!attempt) {
      const reason = container?.waiting?.reason ?? 'ContainerCreating';
      // The kubelet's own words for the common pending failures.
      const why =
        reason === 'ErrImagePull'
          ? "image can't be pulled"
          : reason === 'ImagePullBackOff'
            ? 'trying and failing to pull image'
            : reason;
      throw makeBadRequestError(
        `container "${name}" in pod "${podName}" is waiting to start: ${why}`,
      );
    }
  }
  const running = attempt.finishedAtMs === undefined;
  let stream = attempt.log.open({
    ...(query.tailLines === undefined || query.tailLines < 0 ? {} : { tailLines: query.tailLines }),
    ...(query.sinceSeconds === undefined
      ? {}
      : { sinceMs: Date.now() - query.sinceSeconds * 1000 }),
    timestamps: query.timestamps === true,
    follow: query.follow === true && running,
  });
  if (query.limitBytes !== undefined) stream = limitStreamBytes(stream, query.limitBytes);
  return stream;
};
