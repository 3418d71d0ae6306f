/**
 * Node groups and Fargate profiles go through the same life cycle inside their cluster: created
 * on an ACTIVE cluster (idempotent by client request token), `CREATING` -> `ACTIVE` or
 * `CREATE_FAILED`, deleted through `DELETING` -> gone or `DELETE_FAILED`. One family class runs it;
 * each kind (nodegroups.ts, fargate-profiles.ts) says only what differs: its builder, messages,
 * timings and what becoming ACTIVE adds.
 */
import type { Cluster } from '@aws-sdk/client-eks';
import type { EksTimings } from './control-plane.ts';
import type { EksApiError } from './errors.ts';
import type { JsonObject } from './input.ts';
import {
  type ChildRecord,
  type ClusterRecord,
  type FailureScripts,
  isSameRequest,
  issuesOr,
  type Transitions,
} from './lifecycle.ts';
import { type NamePage, paginate } from './pagination.ts';
import type { EksLocation } from './resources.ts';

/** The members of a node group or Fargate profile the life cycle reads and writes. */
export interface ChildResource<TIssue> {
  status?: string;
  health?: { issues?: TIssue[] };
  tags?: Record<string, string>;
}

/** What one kind of cluster child does differently. */
export interface ChildKind<T extends ChildResource<TIssue>, TIssue> {
  resource: 'nodegroup' | 'fargateProfile';
  records(owner: ClusterRecord): Map<string, ChildRecord<T, TIssue>>;
  /** The resource in `CREATING`, validated as EKS validates the request. */
  build(input: JsonObject, cluster: Cluster, location: EksLocation): T;
  nameOf(resource: T): string;
  creatingMs(timings: EksTimings): number;
  deletingMs(timings: EksTimings): number;
  /** Statuses a deletion is refused in (`ResourceInUseException`). */
  busyStatuses: readonly string[];
  alreadyExists(clusterName: string, name: string): EksApiError;
  notFound(clusterName: string, name: string): EksApiError;
  busy(clusterName: string, name: string, status: string): EksApiError;
  /** Turns a created resource ACTIVE. */
  activate(resource: T): void;
  /** EKS-like health issues for a scripted failure that names none. */
  createIssues(resource: T): TIssue[];
  deleteIssues(resource: T): TIssue[];
  /** Records a status change (node groups keep `modifiedAt`; Fargate profiles do not). */
  touch(resource: T): void;
}

/** What a family needs from the control plane around it. */
export interface FamilyContext {
  location: EksLocation;
  timings: EksTimings;
  transitions: Transitions;
  scripts: FailureScripts;
  getCluster(name: string): ClusterRecord;
  getActiveCluster(name: string): ClusterRecord;
}

export class ClusterChildren<T extends ChildResource<TIssue>, TIssue> {
  readonly #kind: ChildKind<T, TIssue>;
  readonly #context: FamilyContext;

  constructor(kind: ChildKind<T, TIssue>, context: FamilyContext) {
    this.#kind = kind;
    this.#context = context;
  }

  create(clusterName: string, input: JsonObject): T {
    const kind = this.#kind;
    const context = this.#context;
    const owner = context.getActiveCluster(clusterName);
    const resource = kind.build(input, owner.cluster, context.location);
    const name = kind.nameOf(resource);
    const records = kind.records(owner);
    const existing = records.get(name);
    if (existing) {
      if (isSameRequest(existing.requestToken, input.clientRequestToken)) {
        return existing.resource;
      }
      throw kind.alreadyExists(clusterName, name);
    }
    const record: ChildRecord<T, TIssue> = {
      resource,
      failure: context.scripts.take({ resource: kind.resource, clusterName, name }, resource.tags),
      requestToken: input.clientRequestToken,
    };
    records.set(name, record);
    context.transitions.after(kind.creatingMs(context.timings), () => {
      if (record.failure.onCreate) {
        resource.status = 'CREATE_FAILED';
        resource.health = {
          issues: issuesOr(record.failure.onCreate, kind.createIssues(resource)),
        };
      } else {
        kind.activate(resource);
      }
      kind.touch(resource);
    });
    return resource;
  }

  describe(clusterName: string, name: string): T {
    return this.#get(clusterName, name).resource;
  }

  delete(clusterName: string, name: string): T {
    const kind = this.#kind;
    const owner = this.#context.getCluster(clusterName);
    const record = this.#get(clusterName, name);
    const { resource } = record;
    if (resource.status === 'DELETING') return resource;
    if (resource.status !== undefined && kind.busyStatuses.includes(resource.status)) {
      throw kind.busy(clusterName, name, resource.status);
    }
    resource.status = 'DELETING';
    kind.touch(resource);
    this.#context.transitions.after(kind.deletingMs(this.#context.timings), () => {
      const failure = record.failure.onDelete;
      if (failure) {
        // One-shot: the next delete request goes through.
        record.failure.onDelete = undefined;
        resource.status = 'DELETE_FAILED';
        resource.health = { issues: issuesOr(failure, kind.deleteIssues(resource)) };
        kind.touch(resource);
      } else {
        kind.records(owner).delete(name);
      }
    });
    return resource;
  }

  list(
    clusterName: string,
    maxResults: number | undefined,
    nextToken: string | undefined,
  ): NamePage {
    const owner = this.#context.getCluster(clusterName);
    return paginate([...this.#kind.records(owner).keys()], maxResults, nextToken);
  }

  #get(clusterName: string, name: string): ChildRecord<T, TIssue> {
    const record = this.#kind.records(this.#context.getCluster(clusterName)).get(name);
    if (!record) throw this.#kind.notFound(clusterName, name);
    return record;
  }
}
