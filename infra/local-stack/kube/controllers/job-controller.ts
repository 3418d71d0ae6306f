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
  JobConditionType,
  type JobFailure,
  jobFailureReasons,
  jobSuccess,
  makeJobCondition,
} from './job-conditions.ts';
import {
  isControlledBy,
  isReady,
  isTerminal,
  makeJobPod,
  phaseOf,
  restartCountOf,
  toCount,
} from './job-pods.ts';
import { applyJobStatus, type JobStatusCounts, jobConditionsOf } from './job-status.ts';

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
  ttlTimer?: NodeJS.Timeout;
}

const jobKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class JobController {
  readonly #store: ObjectStore;
  readonly #podFailureBackOffMs: number;
  readonly #memory = new Map<string, JobMemory>();
  readonly #scheduled = new Map<string, NodeJS.Timeout>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: JobControllerOptions) {
    this.#store = options.store;
    this.#podFailureBackOffMs = options.podFailureBackOffMs ?? 0;
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
  }

  #clearTimers(memory: JobMemory): void {
    clearTimeout(memory.deadlineTimer);
    clearTimeout(memory.backOffTimer);
    clearTimeout(memory.ttlTimer);
  }

  #onEvent(event: StoreEvent): void {
    const { resource, object } = event;
    if (resource.group === 'batch' && resource.resource === 'jobs') {
      if (event.type === 'DELETED') {
        const memory = this.#memory.get(object.metadata.uid ?? '');
        if (memory) this.#clearTimers(memory);
        this.#memory.delete(object.metadata.uid ?? '');
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
    const spec = asRecord(job.spec);
    const status = asRecord(job.status);
    const conditions = jobConditionsOf(job);
    if (
      findJobCondition(conditions, JobConditionType.Complete) ||
      findJobCondition(conditions, JobConditionType.Failed)
    ) {
      this.#scheduleTtl(job, memory);
      return;
    }

    const pods = this.#store.list(builtinTypes.pods, namespace, (p) =>
      isControlledBy(p, uid),
    ).items;
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
    const isActive = (p: KubeObject): boolean => !isTerminal(p) && !p.metadata.deletionTimestamp;
    let activePods = pods.filter(isActive);
    let terminating = pods.filter((p) => !isTerminal(p) && p.metadata.deletionTimestamp).length;

    const now = formatKubeTime();
    const nowMs = Date.now();
    const backoffLimit = typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6;
    const completions = typeof spec.completions === 'number' ? spec.completions : undefined;
    const parallelism = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
    const suspended = spec.suspend === true;
    const activeDeadlineSeconds =
      typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined;
    let startTime = typeof status.startTime === 'string' ? status.startTime : undefined;
    let nextConditions = conditions;

    // An interim condition already written means the Job is finishing: only wind it down.
    const failureTarget = findJobCondition(conditions, JobConditionType.FailureTarget);
    const successMet = findJobCondition(conditions, JobConditionType.SuccessCriteriaMet);
    let failure: JobFailure | undefined;
    if (!failureTarget && !successMet) {
      const restartsOnFailure =
        asRecord(asRecord(spec.template).spec).restartPolicy === 'OnFailure'
          ? activePods.reduce((sum, p) => sum + restartCountOf(p), 0)
          : 0;
      if (
        (newFailures > 0 && failed > backoffLimit) ||
        (restartsOnFailure > 0 && restartsOnFailure >= backoffLimit)
      ) {
        failure = jobFailureReasons.BackoffLimitExceeded;
      } else if (
        activeDeadlineSeconds !== undefined &&
        startTime !== undefined &&
        !suspended &&
        nowMs - Date.parse(startTime) >= activeDeadlineSeconds * 1000
      ) {
        failure = jobFailureReasons.DeadlineExceeded;
      }
    }

    // A finishing Job has no active pods; its conditions are written in two steps (the target
    // condition first, Complete/Failed once pods have terminated), as current Kubernetes does.
    const writeFinishedStatus = (completionTime?: string) =>
      this.#writeStatus(namespace, name, uid, {
        conditions: nextConditions,
        active: 0,
        ready: 0,
        terminating,
        succeeded,
        failed,
        startTime,
        ...(completionTime === undefined ? {} : { completionTime }),
      });

    if (failure || failureTarget) {
      // Active pods of a failed Job are deleted and, being unfinished, count as failed.
      for (const pod of activePods) {
        this.#store.delete(builtinTypes.pods, namespace, pod.metadata.name ?? '', {
          propagationPolicy: 'Background',
        });
        const podUid = pod.metadata.uid ?? '';
        if (!memory.countedFailed.has(podUid)) {
          memory.countedFailed.add(podUid);
          failed += 1;
        }
      }
      activePods = [];
      terminating = this.#countTerminating(namespace, uid);
      if (failure) {
        nextConditions = ensureJobCondition(
          nextConditions,
          makeJobCondition(
            JobConditionType.FailureTarget,
            'True',
            failure.reason,
            failure.message,
            now,
          ),
        );
        writeFinishedStatus();
      }
      const target = failure ?? failureTarget;
      if (terminating === 0 && target) {
        nextConditions = ensureJobCondition(
          nextConditions,
          makeJobCondition(JobConditionType.Failed, 'True', target.reason, target.message, now),
        );
      }
      writeFinishedStatus();
      return;
    }

    const complete =
      successMet !== undefined ||
      (activePods.length === 0 &&
        (completions === undefined ? succeeded > 0 : succeeded >= completions));
    if (complete) {
      if (!successMet) {
        nextConditions = ensureJobCondition(
          nextConditions,
          makeJobCondition(
            JobConditionType.SuccessCriteriaMet,
            'True',
            jobSuccess.reason,
            jobSuccess.message,
            now,
          ),
        );
        writeFinishedStatus();
      }
      let completionTime: string | undefined;
      if (terminating === 0) {
        nextConditions = ensureJobCondition(
          nextConditions,
          makeJobCondition(
            JobConditionType.Complete,
            'True',
            jobSuccess.reason,
            jobSuccess.message,
            now,
          ),
        );
        completionTime = now;
      }
      writeFinishedStatus(completionTime);
      return;
    }

    if (suspended) {
      for (const pod of activePods) {
        this.#store.delete(builtinTypes.pods, namespace, pod.metadata.name ?? '', {
          propagationPolicy: 'Background',
        });
      }
      activePods = [];
      nextConditions = ensureJobCondition(
        nextConditions,
        makeJobCondition(JobConditionType.Suspended, 'True', 'JobSuspended', 'Job suspended', now),
      );
    } else {
      const wasSuspended = findJobCondition(conditions, JobConditionType.Suspended);
      if (wasSuspended) {
        nextConditions = ensureJobCondition(
          nextConditions,
          makeJobCondition(JobConditionType.Suspended, 'False', 'JobResumed', 'Job resumed', now),
        );
        // activeDeadlineSeconds counts continuous activity: a resumed Job starts its clock anew.
        startTime = now;
      }
      startTime ??= now;
      const wanted =
        completions === undefined
          ? succeeded > 0
            ? 0
            : parallelism
          : Math.max(0, Math.min(parallelism, completions - succeeded));
      const missing = wanted - activePods.length;
      if (missing > 0) {
        const backOffMs = this.#remainingBackOffMs(memory, nowMs);
        if (backOffMs > 0) {
          clearTimeout(memory.backOffTimer);
          memory.backOffTimer = setTimeout(() => this.#enqueue(namespace, name), backOffMs);
        } else {
          for (let i = 0; i < missing; i++) {
            const created = this.#createPod(job);
            if (created) activePods.push(created);
          }
        }
      } else if (missing < 0) {
        // Parallelism lowered: the newest pods go first.
        const extra = [...activePods]
          .sort((a, b) =>
            String(b.metadata.creationTimestamp).localeCompare(
              String(a.metadata.creationTimestamp),
            ),
          )
          .slice(0, -missing);
        for (const pod of extra) {
          this.#store.delete(builtinTypes.pods, namespace, pod.metadata.name ?? '');
        }
        const gone = new Set(extra.map((p) => p.metadata.uid));
        activePods = activePods.filter((p) => !gone.has(p.metadata.uid));
      }
      if (activeDeadlineSeconds !== undefined) {
        const remainingMs = Date.parse(startTime) + activeDeadlineSeconds * 1000 - Date.now();
        clearTimeout(memory.deadlineTimer);
        memory.deadlineTimer = setTimeout(
          () => this.#enqueue(namespace, name),
          Math.max(0, remainingMs) + 5,
        );
      }
    }
    this.#writeStatus(namespace, name, uid, {
      conditions: nextConditions,
      active: activePods.length,
      ready: activePods.filter(isReady).length,
      terminating,
      succeeded,
      failed,
      startTime: suspended ? undefined : startTime,
    });
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

  #scheduleTtl(job: KubeObject, memory: JobMemory): void {
    const ttlSeconds = asRecord(job.spec).ttlSecondsAfterFinished;
    if (typeof ttlSeconds !== 'number' || memory.ttlTimer) return;
    const conditions = jobConditionsOf(job);
    const finished =
      findJobCondition(conditions, JobConditionType.Complete) ??
      findJobCondition(conditions, JobConditionType.Failed);
    const finishedAtMs = Date.parse(finished?.lastTransitionTime ?? formatKubeTime());
    const namespace = job.metadata.namespace ?? 'default';
    const name = job.metadata.name ?? '';
    const uid = job.metadata.uid ?? '';
    memory.ttlTimer = setTimeout(
      () => {
        if (this.#closed) return;
        try {
          // The TTL-after-finished controller deletes with Foreground propagation.
          this.#store.delete(builtinTypes.jobs, namespace, name, {
            propagationPolicy: 'Foreground',
            expectUid: uid,
          });
        } catch {
          // A new Job took the name: not ours to delete.
        }
      },
      Math.max(0, finishedAtMs + ttlSeconds * 1000 - Date.now()),
    );
  }
}
