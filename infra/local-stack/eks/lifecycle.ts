/**
 * The life cycle every EKS resource shares: a create or delete request starts a transition
 * (`CREATING` -> `ACTIVE`, `DELETING` -> gone) that completes after a delay unless the control
 * plane closes first, and a scripted failure (by tag or by `script()`) can make it fail instead.
 * Clusters (control-plane.ts) and their node groups and Fargate profiles (cluster-children.ts)
 * all go through here.
 */
import type {
  Cluster,
  ClusterIssue,
  FargateProfile,
  FargateProfileIssue,
  Issue,
  Nodegroup,
} from '@aws-sdk/client-eks';

/**
 * The tag a create request can carry to ask for a failure, so a state machine (not only a test)
 * can exercise its failure paths: `FAILED` (cluster) or `CREATE_FAILED` (node group, Fargate
 * profile) fail the creation; `DELETE_FAILED` fails the first deletion.
 */
export const outcomeTagKey = 'eks-local/outcome';

export const ScriptedOutcome = {
  /** Cluster creation fails: the cluster ends FAILED. Same as CREATE_FAILED for a cluster. */
  failed: 'FAILED',
  /** Creation fails: node group / Fargate profile CREATE_FAILED, cluster FAILED. */
  createFailed: 'CREATE_FAILED',
  /**
   * The next deletion fails: node group / Fargate profile DELETE_FAILED. A cluster has no such
   * status; its deletion failing returns it to ACTIVE (which the ClusterDeleted waiter treats as
   * failure), with a health issue.
   */
  deleteFailed: 'DELETE_FAILED',
} as const;

export type ScriptedOutcome = (typeof ScriptedOutcome)[keyof typeof ScriptedOutcome];

/** A one-shot scripted failure, for tests that prefer not to tag resources. */
export type ScriptedFailure =
  | { resource: 'cluster'; name: string; outcome: ScriptedOutcome; issues?: ClusterIssue[] }
  | {
      resource: 'nodegroup';
      clusterName: string;
      name: string;
      outcome: ScriptedOutcome;
      issues?: Issue[];
    }
  | {
      resource: 'fargateProfile';
      clusterName: string;
      name: string;
      outcome: ScriptedOutcome;
      issues?: FargateProfileIssue[];
    };

/** The failures a resource is due; `'default'` means EKS-like issues made up when it fails. */
export interface Failure<TIssue> {
  onCreate?: TIssue[] | 'default';
  onDelete?: TIssue[] | 'default';
}

/** A node group or a Fargate profile, with what the control plane keeps beside it. */
export interface ChildRecord<T, TIssue> {
  resource: T;
  failure: Failure<TIssue>;
  /** Node groups and Fargate profiles do not echo the token, but EKS still honours it. */
  requestToken: unknown;
}

export interface ClusterRecord {
  cluster: Cluster;
  failure: Failure<ClusterIssue>;
  nodegroups: Map<string, ChildRecord<Nodegroup, Issue>>;
  fargateProfiles: Map<string, ChildRecord<FargateProfile, FargateProfileIssue>>;
  close?: () => Promise<void>;
}

/** Which resource a scripted failure is for. */
export interface ScriptTarget {
  resource: ScriptedFailure['resource'];
  name: string;
  clusterName?: string;
}

/** Scripted failures waiting for the resource they name to be created (or deleted). */
export class FailureScripts {
  readonly #queued: ScriptedFailure[] = [];

  /**
   * Queues a one-shot failure. A deletion failure for a resource that already exists (`existing`)
   * is applied to it now.
   */
  add(failure: ScriptedFailure, existing: { failure: Failure<unknown> } | undefined): void {
    this.#queued.push(failure);
    if (failure.outcome !== 'DELETE_FAILED') return;
    if (existing) {
      existing.failure.onDelete = (failure.issues as never) ?? 'default';
      this.#queued.splice(this.#queued.indexOf(failure), 1);
    }
  }

  /** The failure a new resource is due: a queued script wins over its outcome tag. */
  take<TIssue>(target: ScriptTarget, tags: Record<string, string> | undefined): Failure<TIssue> {
    const failure: Failure<TIssue> = {};
    const tagged = tags?.[outcomeTagKey];
    if (tagged === 'FAILED' || tagged === 'CREATE_FAILED') failure.onCreate = 'default';
    if (tagged === 'DELETE_FAILED') failure.onDelete = 'default';
    for (const script of this.#queued.filter((s) => matches(s, target))) {
      this.#queued.splice(this.#queued.indexOf(script), 1);
      const issues = (script.issues as TIssue[] | undefined) ?? 'default';
      if (script.outcome === 'DELETE_FAILED') failure.onDelete = issues;
      else failure.onCreate = issues;
    }
    return failure;
  }
}

const matches = (script: ScriptedFailure, target: ScriptTarget): boolean =>
  script.resource === target.resource &&
  script.name === target.name &&
  (script.resource === 'cluster' || script.clusterName === target.clusterName);

/** Pending transitions, so closing the control plane can stop them all. */
export class Transitions {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `action` after `delayMs`, unless the control plane closes first. */
  after(delayMs: number, action: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      const running = Promise.resolve()
        .then(action)
        .catch(() => {})
        .finally(() => this.#inFlight.delete(running));
      this.#inFlight.add(running);
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Cancels what has not started and waits for what has (a cluster being provisioned). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
  }
}

/** A repeated create is answered with the existing resource only when it carries the same token. */
export const isSameRequest = (stored: unknown, received: unknown): boolean =>
  typeof stored === 'string' && stored !== '' && stored === received;

export const issuesOr = <T>(issues: T[] | 'default', fallback: T[]): T[] =>
  issues === 'default' ? fallback : issues;
