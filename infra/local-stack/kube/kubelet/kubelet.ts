/**
 * A simulated kubelet (with the scheduler's one job, binding): every pod in the store runs.
 * Phase Pending -> Running -> Succeeded/Failed; container states, restarts and conditions are
 * written as a real kubelet writes them. Containers run scripted (deterministic, see
 * container-script.ts) or as local host processes. It also serves pod logs (PodLogSource).
 */
import type { Readable } from 'node:stream';
import type { PodLogQuery, PodLogSource } from '../log-source.ts';
import { asRecord, formatKubeTime, type KubeObject } from '../objects.ts';
import { builtinTypes } from '../resource-types.ts';
import type { ObjectStore } from '../store.ts';
import type { StoreEvent } from '../store-events.ts';
import { ScriptedLog } from './container-log.ts';
import { readContainerScript, toTerminationReason } from './container-script.ts';
import { FileLog } from './file-log.ts';
import { type LocalContainerSpec, startLocalProcess } from './local-process.ts';
import { openPodLog } from './pod-logs.ts';
import { makeContainerId, toRuntimeImageName } from './pod-status.ts';
import type { Attempt, ContainerRuntime, PodRuntime } from './runtime.ts';
import { type KubeletNode, makePodStatusWriter } from './status-report.ts';

export type ExecutionMode = 'scripted' | 'local';

export interface SimulatedKubeletOptions {
  store: ObjectStore;
  /** How containers run. @default 'scripted' */
  execution?: ExecutionMode;
  /** From the pod's arrival to its containers running (image pull, sandbox). @default 50 */
  podStartDelayMs?: number;
  /** How long a container without a scripted duration runs. @default 100 */
  defaultRunMs?: number;
  /** From `ErrImagePull` to `ImagePullBackOff`, and between container restarts. @default 100 */
  backOffDelayMs?: number;
  /** SIGTERM-to-SIGKILL grace for local processes being stopped. @default 2000 */
  killGraceMs?: number;
  /** The node every pod is bound to. @default 'ip-10-0-1-10.ec2.internal' */
  nodeName?: string;
  /** The node's IP (`status.hostIP`). @default '10.0.1.10' */
  hostIp?: string;
}

/** Keep logs of a deleted pod briefly, so a follower gets its last lines before they go. */
const deletedLogRetentionMs = 5_000;

export class SimulatedKubelet implements PodLogSource {
  readonly #store: ObjectStore;
  readonly #execution: ExecutionMode;
  readonly #podStartDelayMs: number;
  readonly #defaultRunMs: number;
  readonly #backOffDelayMs: number;
  readonly #killGraceMs: number;
  readonly #node: KubeletNode;
  readonly #pods = new Map<string, PodRuntime>();
  readonly #attemptCounters = new Map<string, number>();
  readonly #pendingTimers = new Set<NodeJS.Timeout>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: SimulatedKubeletOptions) {
    this.#store = options.store;
    this.#execution = options.execution ?? 'scripted';
    this.#podStartDelayMs = options.podStartDelayMs ?? 50;
    this.#defaultRunMs = options.defaultRunMs ?? 100;
    this.#backOffDelayMs = options.backOffDelayMs ?? 100;
    this.#killGraceMs = options.killGraceMs ?? 2_000;
    this.#node = {
      nodeName: options.nodeName ?? 'ip-10-0-1-10.ec2.internal',
      hostIp: options.hostIp ?? '10.0.1.10',
    };
  }

  /** Starts running the store's pods, existing and future. */
  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#store.subscribe((event) => this.#onEvent(event));
    for (const pod of this.#store.list(builtinTypes.pods).items) this.#admit(pod);
  }

  /** Stops every container and frees every log. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const timer of this.#pendingTimers) clearTimeout(timer);
    this.#pendingTimers.clear();
    const exits: Promise<unknown>[] = [];
    for (const pod of this.#pods.values()) {
      this.#stopPod(pod);
      for (const container of pod.containers.values()) {
        for (const attempt of container.attempts) {
          if (attempt.process) {
            attempt.process.kill(0);
            exits.push(attempt.process.done);
          }
        }
      }
    }
    await Promise.all(exits);
    for (const pod of this.#pods.values()) this.#disposePod(pod);
    this.#pods.clear();
  }

  #later(delayMs: number, fn: () => void, pod?: PodRuntime): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#pendingTimers.delete(timer);
      pod?.timers.delete(timer);
      if (this.#closed || pod?.stopped) return;
      fn();
    }, delayMs);
    this.#pendingTimers.add(timer);
    pod?.timers.add(timer);
  }

  #onEvent(event: StoreEvent): void {
    if (event.resource.group !== '' || event.resource.resource !== 'pods') return;
    const uid = event.object.metadata.uid ?? '';
    if (event.type === 'ADDED') {
      this.#admit(event.object);
      return;
    }
    const pod = this.#pods.get(uid);
    if (!pod) return;
    if (event.type === 'DELETED') {
      this.#stopPod(pod);
      this.#pods.delete(uid);
      const timer = setTimeout(() => this.#disposePod(pod), deletedLogRetentionMs);
      timer.unref();
      return;
    }
    if (event.object.metadata.deletionTimestamp && !pod.stopped) {
      // Graceful deletion (the pod has finalizers): kill the containers and report them stopped.
      this.#stopPod(pod);
      this.#later(0, () => this.#writeStatus(pod));
    }
  }

  /** Takes a new pod: binds it to the node and schedules its start. */
  #admit(object: KubeObject): void {
    const uid = object.metadata.uid ?? '';
    if (this.#pods.has(uid) || object.metadata.deletionTimestamp) return;
    const status = asRecord(object.status);
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return;
    const spec = asRecord(object.spec);
    const owner = object.metadata.ownerReferences?.find((ref) => ref.controller);
    const pod: PodRuntime = {
      uid,
      namespace: object.metadata.namespace ?? 'default',
      name: object.metadata.name ?? '',
      restartPolicy: typeof spec.restartPolicy === 'string' ? spec.restartPolicy : 'Always',
      attemptKey: owner?.uid ?? uid,
      containers: new Map(),
      timers: new Set(),
      stopped: false,
    };
    const containers = Array.isArray(spec.containers) ? spec.containers : [];
    for (const raw of containers) {
      const c = asRecord(raw);
      const name = typeof c.name === 'string' ? c.name : '';
      pod.containers.set(name, {
        spec: c as unknown as LocalContainerSpec & { image?: string },
        script: readContainerScript(object.metadata.annotations, name, {
          durationMs: this.#defaultRunMs,
        }),
        attempts: [],
        restartCount: 0,
        waiting: { reason: 'ContainerCreating' },
        final: false,
      });
    }
    this.#pods.set(uid, pod);
    // Never write from inside a store listener: the write's own event would reach later
    // listeners (watches) before the event being delivered.
    this.#later(
      0,
      () => {
        pod.startTime = formatKubeTime();
        this.#writeStatus(pod, { bind: true });
        this.#later(this.#podStartDelayMs, () => this.#startContainers(pod), pod);
      },
      pod,
    );
  }

  #startContainers(pod: PodRuntime): void {
    for (const [name, container] of pod.containers) {
      if (container.script.imagePullError && this.#execution === 'scripted') {
        const image = container.spec.image ?? '';
        const runtimeName = toRuntimeImageName(image);
        container.waiting = {
          reason: 'ErrImagePull',
          message: `failed to pull and unpack image "${runtimeName}": failed to resolve reference "${runtimeName}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`,
        };
        this.#later(
          this.#backOffDelayMs,
          () => {
            container.waiting = {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${image}"`,
            };
            this.#writeStatus(pod);
          },
          pod,
        );
        continue;
      }
      this.#startAttempt(pod, name, container);
    }
    this.#writeStatus(pod);
  }

  #startAttempt(pod: PodRuntime, name: string, container: ContainerRuntime): void {
    const counterKey = `${pod.attemptKey}/${name}`;
    const attemptIndex = this.#attemptCounters.get(counterKey) ?? 0;
    this.#attemptCounters.set(counterKey, attemptIndex + 1);
    const startedAtMs = Date.now();
    const containerId = makeContainerId(`${pod.uid}/${name}`);
    delete container.waiting;
    if (this.#execution === 'local') {
      const log = new FileLog();
      const process = startLocalProcess(container.spec, log);
      const attempt: Attempt = { containerId, startedAtMs, log, process };
      this.#pushAttempt(container, attempt);
      void process.done.then((result) => {
        log.close();
        if (pod.stopped && result.killed) return;
        const finished: Partial<Attempt> = { exitCode: result.exitCode };
        if (result.cannotRunMessage !== undefined) {
          finished.reason = 'ContainerCannotRun';
          finished.message = result.cannotRunMessage;
        }
        this.#finishAttempt(pod, name, container, attempt, finished);
      });
      return;
    }
    const script = container.script;
    const failsThisTime = attemptIndex < script.failAttempts;
    const log = new ScriptedLog(script.log, startedAtMs, script.durationMs);
    const attempt: Attempt = { containerId, startedAtMs, log };
    this.#pushAttempt(container, attempt);
    const exitCode = failsThisTime ? 1 : script.exitCode;
    const finished: Partial<Attempt> = { exitCode };
    const reason = failsThisTime ? undefined : script.reason;
    if (reason !== undefined) finished.reason = reason;
    if (!failsThisTime && script.message !== undefined) finished.message = script.message;
    attempt.timer = setTimeout(() => {
      pod.timers.delete(attempt.timer as NodeJS.Timeout);
      if (this.#closed || pod.stopped) return;
      log.close(Date.now());
      this.#finishAttempt(pod, name, container, attempt, finished);
    }, script.durationMs);
    pod.timers.add(attempt.timer);
  }

  #pushAttempt(container: ContainerRuntime, attempt: Attempt): void {
    container.attempts.push(attempt);
    while (container.attempts.length > 2) container.attempts.shift()?.log.dispose();
  }

  #finishAttempt(
    pod: PodRuntime,
    name: string,
    container: ContainerRuntime,
    attempt: Attempt,
    finished: Partial<Attempt>,
  ): void {
    const exitCode = finished.exitCode ?? 0;
    attempt.finishedAtMs = Date.now();
    attempt.exitCode = exitCode;
    attempt.reason = toTerminationReason(exitCode, finished.reason);
    if (finished.message !== undefined) attempt.message = finished.message;
    const restarts =
      pod.restartPolicy === 'Always' || (pod.restartPolicy === 'OnFailure' && exitCode !== 0);
    if (restarts && !pod.stopped) {
      container.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(this.#backOffDelayMs / 1000)}s restarting failed container=${name} pod=${pod.name}_${pod.namespace}(${pod.uid})`,
      };
      this.#later(
        this.#backOffDelayMs,
        () => {
          container.restartCount += 1;
          this.#startAttempt(pod, name, container);
          this.#writeStatus(pod);
        },
        pod,
      );
    } else {
      container.final = true;
    }
    this.#writeStatus(pod);
  }

  /** Stops every container of a pod (deleted, or past its Job's deadline). */
  #stopPod(pod: PodRuntime): void {
    if (pod.stopped) return;
    pod.stopped = true;
    for (const timer of pod.timers) clearTimeout(timer);
    pod.timers.clear();
    const nowMs = Date.now();
    for (const container of pod.containers.values()) {
      const current = container.attempts.at(-1);
      if (current && current.finishedAtMs === undefined) {
        current.process?.kill(this.#killGraceMs);
        current.log.close(nowMs);
        // A container killed on deletion reports the SIGKILL exit, as after the grace period.
        current.finishedAtMs = nowMs;
        current.exitCode = 137;
        current.reason = 'Error';
      }
      container.final = true;
    }
  }

  #disposePod(pod: PodRuntime): void {
    for (const container of pod.containers.values()) {
      for (const attempt of container.attempts) attempt.log.dispose();
    }
  }

  /** Writes the pod's status from the runtime state, as the kubelet's status manager does. */
  #writeStatus(pod: PodRuntime, options: { bind?: boolean } = {}): void {
    const write = makePodStatusWriter(pod, this.#node, options);
    this.#store.mutate(builtinTypes.pods, pod.namespace, pod.name, write);
  }

  /** Counts attempts under a key; exposed for tests that check `failAttempts` bookkeeping. */
  attemptsStarted(attemptKey: string, containerName: string): number {
    return this.#attemptCounters.get(`${attemptKey}/${containerName}`) ?? 0;
  }

  async open(namespace: string, podName: string, query: PodLogQuery): Promise<Readable> {
    return openPodLog(this.#store, (uid) => this.#pods.get(uid), namespace, podName, query);
  }
}
