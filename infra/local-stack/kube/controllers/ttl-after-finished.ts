/**
 * The TTL-after-finished controller's job: deletes a finished Job (and, by Foreground
 * propagation, its pods) `ttlSecondsAfterFinished` after its Complete or Failed condition.
 */
import { asRecord, formatKubeTime, type KubeObject } from '../objects.ts';
import { builtinTypes } from '../resource-types.ts';
import type { ObjectStore } from '../store.ts';
import { findJobCondition, JobConditionType } from './job-conditions.ts';
import { jobConditionsOf } from './job-status.ts';

export class TtlAfterFinished {
  readonly #store: ObjectStore;
  /** By Job uid: one timer per finished Job. */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** Schedules the deletion of a finished Job, once; nothing when it sets no TTL. */
  schedule(job: KubeObject): void {
    const uid = job.metadata.uid ?? '';
    const ttlSeconds = asRecord(job.spec).ttlSecondsAfterFinished;
    if (typeof ttlSeconds !== 'number' || this.#timers.has(uid)) return;
    const conditions = jobConditionsOf(job);
    const finished =
      findJobCondition(conditions, JobConditionType.Complete) ??
      findJobCondition(conditions, JobConditionType.Failed);
    const finishedAtMs = Date.parse(finished?.lastTransitionTime ?? formatKubeTime());
    const namespace = job.metadata.namespace ?? 'default';
    const name = job.metadata.name ?? '';
    const timer = setTimeout(
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
    this.#timers.set(uid, timer);
  }

  /** The Job is gone: its timer (if any) with it. */
  forget(uid: string): void {
    clearTimeout(this.#timers.get(uid));
    this.#timers.delete(uid);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
