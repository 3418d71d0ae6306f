/**
 * The local cluster's Job controller (batch/v1, NonIndexed completion mode): creates a Job's pods,
 * replaces failed ones until `backoffLimit`, enforces `activeDeadlineSeconds`, honours `suspend`,
 * and deletes finished Jobs after `ttlSecondsAfterFinished` (the TTL-after-finished controller's
 * job). Status counters and conditions follow the real controller, including the interim
 * `SuccessCriteriaMet` / `FailureTarget` conditions written before `Complete` / `Failed`.
 *
 * Unlike the real controller it does not put the `batch.kubernetes.io/job-tracking` finalizer on
 * pods: it counts terminated pods by uid in memory instead, which is enough while it runs in the
 * same process as the store.
 */
import { asRecord, formatKubeTime, type KubeObject } from '../objects.ts';
import { builtinTypes } from '../resource-types.ts';
import type { ObjectStore } from '../store.ts';
import type { StoreEvent } from '../store-events.ts';
import {
  ensureJobCondition,
  findJobCondition,
  type JobCondition,
  JobConditionType,
  jobSuccess,
  makeJobCondition,
} from './job-conditions.ts';
import { isControlledBy, isReady, isTerminal, makeJobPod, phaseOf, toCount } from './job-pods.ts';
import {
  decideJobFailure,
  hasEnoughSuccesses,
  type JobSpecView,
  readJobSpec,
  wantedActivePods,
} from './job-policy.ts';
import { applyJobStatus, type JobStatusCounts, jobConditionsOf } from './job-status.ts';
import { TtlAfterFinished } from './ttl-after-finished.ts';

export interface JobControllerOptions {
  store: ObjectStore;
  /**
   * Delay before a failed pod is replaced, doubling per consecutive failure (the real controller
   * starts at 10 s; a local cluster wants speed). @default 0
   */
  podFailureBackOffMs?: number;
}

/** What the controller remembers of a Job between syncs (the real one keeps it in finalizers). */
interface JobMemory {
  countedSucceeded: Set<string>;
  countedFailed: Set<string>;
  consecutiveFailures: number;
  lastFailureAtMs: number;
  deadlineTimer?: NodeJS.Timeout;
  backOffTimer?: NodeJS.Timeout;
}

/** The reason and message a condition is written with. */
type Why = Pick<JobCondition, 'reason' | 'message'>;

/** One sync's view of a Job: what it read, and the status it is building. */
interface SyncState {
  job: KubeObject;
  namespace: string;
  name: string;
  uid: string;
  memory: JobMemory;
  spec: JobSpecView;
  now: string;
  nowMs: number;
  /** The conditions to write. */
  conditions: JobCondition[];
  succeeded: number;
  failed: number;
  terminating: number;
  activePods: KubeObject[];
  startTime: string | undefined;
}

const jobKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class JobController {
  readonly #store: ObjectStore;
  readonly #podFailureBackOffMs: number;
  readonly #memory = new Map<string, JobMemory>();
  readonly #scheduled = new Map<string, NodeJS.Timeout>();
  readonly #ttl: TtlAfterFinished;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: JobControllerOptions) {
    this.#store = options.store;
    this.#podFailureBackOffMs = options.podFailureBackOffMs ?? 0;
    this.#ttl = new TtlAfterFinished(options.store);
  }

  /** Starts reconciling the store's Jobs, existing and future. */
  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#store.subscribe((event) => this.#onEvent(event));
    for (const job of this.#store.list(builtinTypes.jobs).items) {
      this.#enqueue(job.metadata.namespace ?? 'default', job.metadata.name ?? '');
    }
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const timer of this.#scheduled.values()) clearTimeout(timer);
    this.#scheduled.clear();
    for (const memory of this.#memory.values()) this.#clearTimers(memory);
    this.#memory.clear();
    this.#ttl.close();
  }

  #clearTimers(memory: JobMemory): void {
    clearTimeout(memory.deadlineTimer);
    clearTimeout(memory.backOffTimer);
  }

  #onEvent(event: StoreEvent): void {
    const { resource, object } = event;
    if (resource.group === 'batch' && resource.resource === 'jobs') {
      if (event.type === 'DELETED') {
        const uid = object.metadata.uid ?? '';
        const memory = this.#memory.get(uid);
        if (memory) this.#clearTimers(memory);
        this.#memory.delete(uid);
        this.#ttl.forget(uid);
        return;
      }
      this.#enqueue(object.metadata.namespace ?? 'default', object.metadata.name ?? '');
      return;
    }
    if (resource.group === '' && resource.resource === 'pods') {
      const owner = object.metadata.ownerReferences?.find(
        (ref) => ref.controller && ref.kind === 'Job',
      );
      if (owner) this.#enqueue(object.metadata.namespace ?? 'default', owner.name);
    }
  }

  /**
   * Syncs a Job soon, once for any number of triggers. Never synchronously: a store listener
   * that writes would deliver its own event to later listeners before the current one.
   */
  #enqueue(namespace: string, name: string, delayMs = 0): void {
    if (this.#closed) return;
    const key = jobKey(namespace, name);
    if (delayMs === 0 && this.#scheduled.has(key)) return;
    const timer = setTimeout(() => {
      if (this.#scheduled.get(key) === timer) this.#scheduled.delete(key);
      if (this.#closed) return;
      this.#sync(namespace, name);
    }, delayMs);
    if (delayMs === 0) this.#scheduled.set(key, timer);
  }

  #memoryOf(uid: string): JobMemory {
    let memory = this.#memory.get(uid);
    if (!memory) {
      memory = {
        countedSucceeded: new Set(),
        countedFailed: new Set(),
        consecutiveFailures: 0,
        lastFailureAtMs: 0,
      };
      this.#memory.set(uid, memory);
    }
    return memory;
  }

  #sync(namespace: string, name: string): void {
    const job = this.#store.get(builtinTypes.jobs, namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const uid = job.metadata.uid ?? '';
    const memory = this.#memoryOf(uid);
    const status = asRecord(job.status);
    const conditions = jobConditionsOf(job);
    if (
      findJobCondition(conditions, JobConditionType.Complete) ||
      findJobCondition(conditions, JobConditionType.Failed)
    ) {
      this.#ttl.schedule(job);
      return;
    }

    const pods = this.#store.list(builtinTypes.pods, namespace, (p) =>
      isControlledBy(p, uid),
    ).items;
    const { succeeded, failed, newFailures } = this.#countFinishedPods(pods, memory, status);
    const s: SyncState = {
      job,
      namespace,
      name,
      uid,
      memory,
      spec: readJobSpec(job),
      now: formatKubeTime(),
      nowMs: Date.now(),
      conditions,
      succeeded,
      failed,
      terminating: pods.filter((p) => !isTerminal(p) && p.metadata.deletionTimestamp).length,
      activePods: pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp),
      startTime: typeof status.startTime === 'string' ? status.startTime : undefined,
    };

    // An interim condition already written means the Job is finishing: only wind it down.
    const failureTarget = findJobCondition(conditions, JobConditionType.FailureTarget);
    const successMet = findJobCondition(conditions, JobConditionType.SuccessCriteriaMet);
    const failure =
      failureTarget || successMet
        ? undefined
        : decideJobFailure(
            s.spec,
            { failed, newFailures, activePods: s.activePods },
            s.startTime,
            s.nowMs,
          );
    if (failure || failureTarget) {
      this.#finishFailed(s, failure, failureTarget);
      return;
    }
    if (successMet !== undefined || hasEnoughSuccesses(s.spec, succeeded, s.activePods.length)) {
      this.#finishComplete(s, successMet);
      return;
    }
    if (s.spec.suspended) this.#suspend(s);
    else this.#run(s, findJobCondition(conditions, JobConditionType.Suspended) !== undefined);
    this.#writeStatus(namespace, name, uid, {
      conditions: s.conditions,
      active: s.activePods.length,
      ready: s.activePods.filter(isReady).length,
      terminating: s.terminating,
      succeeded: s.succeeded,
      failed: s.failed,
      startTime: s.spec.suspended ? undefined : s.startTime,
    });
  }

  /** Counts pods newly finished since the last sync (each pod once, by uid). */
  #countFinishedPods(
    pods: readonly KubeObject[],
    memory: JobMemory,
    status: Record<string, unknown>,
  ): { succeeded: number; failed: number; newFailures: number } {
    let succeeded = toCount(status.succeeded);
    let failed = toCount(status.failed);
    let newFailures = 0;
    for (const pod of pods) {
      const podUid = pod.metadata.uid ?? '';
      const phase = phaseOf(pod);
      if (phase === 'Succeeded' && !memory.countedSucceeded.has(podUid)) {
        memory.countedSucceeded.add(podUid);
        succeeded += 1;
        memory.consecutiveFailures = 0;
      } else if (phase === 'Failed' && !memory.countedFailed.has(podUid)) {
        memory.countedFailed.add(podUid);
        failed += 1;
        newFailures += 1;
      }
    }
    if (newFailures > 0) {
      memory.consecutiveFailures += newFailures;
      memory.lastFailureAtMs = Date.now();
    }
    return { succeeded, failed, newFailures };
  }

  /**
   * A finishing Job has no active pods; its conditions are written in two steps (the target
   * condition first, Complete/Failed once pods have terminated), as current Kubernetes does.
   */
  #writeFinishedStatus(s: SyncState, completionTime?: string): void {
    this.#writeStatus(s.namespace, s.name, s.uid, {
      conditions: s.conditions,
      active: 0,
      ready: 0,
      terminating: s.terminating,
      succeeded: s.succeeded,
      failed: s.failed,
      startTime: s.startTime,
      ...(completionTime === undefined ? {} : { completionTime }),
    });
  }

  #addCondition(s: SyncState, type: string, status: 'True' | 'False', why: Why): void {
    s.conditions = ensureJobCondition(
      s.conditions,
      makeJobCondition(type, status, why.reason, why.message, s.now),
    );
  }

  #finishFailed(s: SyncState, failure: Why | undefined, failureTarget: Why | undefined): void {
    // Active pods of a failed Job are deleted and, being unfinished, count as failed.
    for (const pod of s.activePods) {
      this.#store.delete(builtinTypes.pods, s.namespace, pod.metadata.name ?? '', {
        propagationPolicy: 'Background',
      });
      const podUid = pod.metadata.uid ?? '';
      if (!s.memory.countedFailed.has(podUid)) {
        s.memory.countedFailed.add(podUid);
        s.failed += 1;
      }
    }
    s.activePods = [];
    s.terminating = this.#countTerminating(s.namespace, s.uid);
    if (failure) {
      this.#addCondition(s, JobConditionType.FailureTarget, 'True', failure);
      this.#writeFinishedStatus(s);
    }
    const target = failure ?? failureTarget;
    if (s.terminating === 0 && target) {
      this.#addCondition(s, JobConditionType.Failed, 'True', target);
    }
    this.#writeFinishedStatus(s);
  }

  #finishComplete(s: SyncState, successMet: Why | undefined): void {
    if (!successMet) {
      this.#addCondition(s, JobConditionType.SuccessCriteriaMet, 'True', jobSuccess);
      this.#writeFinishedStatus(s);
    }
    let completionTime: string | undefined;
    if (s.terminating === 0) {
      this.#addCondition(s, JobConditionType.Complete, 'True', jobSuccess);
      completionTime = s.now;
    }
    this.#writeFinishedStatus(s, completionTime);
  }

  #suspend(s: SyncState): void {
    for (const pod of s.activePods) {
      this.#store.delete(builtinTypes.pods, s.namespace, pod.metadata.name ?? '', {
        propagationPolicy: 'Background',
      });
    }
    s.activePods = [];
    this.#addCondition(s, JobConditionType.Suspended, 'True', {
      reason: 'JobSuspended',
      message: 'Job suspended',
    });
  }

  /** Keeps the wanted number of pods running, and a timer on the Job's deadline. */
  #run(s: SyncState, wasSuspended: boolean): void {
    const { memory, namespace, name } = s;
    if (wasSuspended) {
      this.#addCondition(s, JobConditionType.Suspended, 'False', {
        reason: 'JobResumed',
        message: 'Job resumed',
      });
      // activeDeadlineSeconds counts continuous activity: a resumed Job starts its clock anew.
      s.startTime = s.now;
    }
    s.startTime ??= s.now;
    const startTime = s.startTime;
    const missing = wantedActivePods(s.spec, s.succeeded) - s.activePods.length;
    if (missing > 0) {
      const backOffMs = this.#remainingBackOffMs(memory, s.nowMs);
      if (backOffMs > 0) {
        clearTimeout(memory.backOffTimer);
        memory.backOffTimer = setTimeout(() => this.#enqueue(namespace, name), backOffMs);
      } else {
        for (let i = 0; i < missing; i++) {
          const created = this.#createPod(s.job);
          if (created) s.activePods.push(created);
        }
      }
    } else if (missing < 0) {
      // Parallelism lowered: the newest pods go first.
      const extra = [...s.activePods]
        .sort((a, b) =>
          String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
        )
        .slice(0, -missing);
      for (const pod of extra) {
        this.#store.delete(builtinTypes.pods, namespace, pod.metadata.name ?? '');
      }
      const gone = new Set(extra.map((p) => p.metadata.uid));
      s.activePods = s.activePods.filter((p) => !gone.has(p.metadata.uid));
    }
    const deadlineSeconds = s.spec.activeDeadlineSeconds;
    if (deadlineSeconds !== undefined) {
      const remainingMs = Date.parse(startTime) + deadlineSeconds * 1000 - Date.now();
      clearTimeout(memory.deadlineTimer);
      memory.deadlineTimer = setTimeout(
        () => this.#enqueue(namespace, name),
        Math.max(0, remainingMs) + 5,
      );
    }
  }

  #countTerminating(namespace: string, uid: string): number {
    return this.#store.list(
      builtinTypes.pods,
      namespace,
      (p) => isControlledBy(p, uid) && !isTerminal(p),
    ).items.length;
  }

  #remainingBackOffMs(memory: JobMemory, nowMs: number): number {
    if (this.#podFailureBackOffMs <= 0 || memory.consecutiveFailures === 0) return 0;
    const delayMs = Math.min(
      this.#podFailureBackOffMs * 2 ** (memory.consecutiveFailures - 1),
      this.#podFailureBackOffMs * 64,
    );
    return memory.lastFailureAtMs + delayMs - nowMs;
  }

  #createPod(job: KubeObject): KubeObject | undefined {
    const pod = makeJobPod(job);
    try {
      return this.#store.create(builtinTypes.pods, pod);
    } catch {
      // The namespace is going away; the next sync (if any) tries again.
      return undefined;
    }
  }

  #writeStatus(namespace: string, name: string, uid: string, next: JobStatusCounts): void {
    this.#store.mutate(builtinTypes.jobs, namespace, name, (job) => {
      if (job.metadata.uid === uid) applyJobStatus(job, next);
    });
  }
}
