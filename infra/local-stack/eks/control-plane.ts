/**
 * The state of the local EKS control plane: clusters, and through them their node groups and
 * Fargate profiles (cluster-children.ts), each going through the shared life cycle (lifecycle.ts)
 * with scripted failures. The HTTP layer (server.ts) decodes requests and calls in here; every
 * refusal is an `EksApiError` shaped as EKS's own.
 */
import type {
  Cluster,
  FargateProfile,
  FargateProfileIssue,
  Issue,
  Nodegroup,
} from '@aws-sdk/client-eks';
import { ClusterChildren, type FamilyContext } from './cluster-children.ts';
import {
  buildCluster,
  clusterCreateIssues,
  clusterDeleteIssues,
  makePlaceholderCaData,
} from './clusters.ts';
import { clusterNotFound, invalidRequest, resourceInUse } from './errors.ts';
import { fargateProfileKind } from './fargate-profiles.ts';
import type { JsonObject } from './input.ts';
import {
  type ClusterRecord,
  type Failure,
  FailureScripts,
  isSameRequest,
  issuesOr,
  type ScriptedFailure,
  Transitions,
} from './lifecycle.ts';
import { nodegroupKind } from './nodegroups.ts';
import { type NamePage, paginate } from './pagination.ts';
import { defaultKubernetesVersion, type EksLocation, makeClusterHexId } from './resources.ts';

/** How long each transition takes. Real EKS takes minutes; tests want milliseconds. */
export interface EksTimings {
  /** CREATING -> ACTIVE (or FAILED) for a cluster. @default 300 */
  clusterCreatingMs: number;
  /** DELETING -> gone for a cluster. @default 300 */
  clusterDeletingMs: number;
  /** @default 300 */
  nodegroupCreatingMs: number;
  /** @default 300 */
  nodegroupDeletingMs: number;
  /** @default 300 */
  fargateProfileCreatingMs: number;
  /** @default 300 */
  fargateProfileDeletingMs: number;
}

export const defaultEksTimings: Readonly<EksTimings> = {
  clusterCreatingMs: 300,
  clusterDeletingMs: 300,
  nodegroupCreatingMs: 300,
  nodegroupDeletingMs: 300,
  fargateProfileCreatingMs: 300,
  fargateProfileDeletingMs: 300,
};

/** A running Kubernetes API server standing behind an EKS cluster. */
export interface ProvisionedCluster {
  /** `https://127.0.0.1:port`, what DescribeCluster reports as `endpoint`. */
  endpoint: string;
  /** Base64 of the PEM CA bundle, what DescribeCluster reports as `certificateAuthority.data`. */
  certificateAuthorityData: string;
  /** Called when the cluster is deleted or the control plane closes. */
  close(): Promise<void>;
}

/**
 * Starts the API server for a created cluster, when it turns ACTIVE. A rejection makes the
 * cluster FAILED with an `InternalFailure` health issue.
 */
export type ProvisionCluster = (name: string) => Promise<ProvisionedCluster>;

/** A cluster that exists from the start, ACTIVE (how the local Kubernetes API server is exposed). */
export interface RegisteredCluster {
  name: string;
  endpoint: string;
  certificateAuthorityData: string;
  /** @default '1.33' */
  version?: string;
  /** @default `arn:aws:iam::<account>:role/eks-local-cluster-role` */
  roleArn?: string;
  tags?: Record<string, string>;
  /** Called if the cluster is deleted through the API, or when the control plane closes. */
  close?: () => Promise<void>;
}

export interface ControlPlaneStateOptions {
  location: EksLocation;
  timings: EksTimings;
  provisionCluster?: ProvisionCluster;
}

export class ControlPlaneState {
  readonly #location: EksLocation;
  readonly #timings: EksTimings;
  readonly #provisionCluster: ProvisionCluster | undefined;
  readonly #clusters = new Map<string, ClusterRecord>();
  readonly #scripts = new FailureScripts();
  readonly #transitions = new Transitions();
  readonly nodegroups: ClusterChildren<Nodegroup, Issue>;
  readonly fargateProfiles: ClusterChildren<FargateProfile, FargateProfileIssue>;

  constructor(options: ControlPlaneStateOptions) {
    this.#location = options.location;
    this.#timings = options.timings;
    this.#provisionCluster = options.provisionCluster;
    const family: FamilyContext = {
      location: this.#location,
      timings: this.#timings,
      transitions: this.#transitions,
      scripts: this.#scripts,
      getCluster: (name) => this.#getCluster(name),
      getActiveCluster: (name) => this.#getActiveCluster(name),
    };
    this.nodegroups = new ClusterChildren(nodegroupKind, family);
    this.fargateProfiles = new ClusterChildren(fargateProfileKind, family);
  }

  // ---- in-process control -------------------------------------------------------------------

  /** Adds (or replaces) an ACTIVE cluster with a known endpoint and CA. */
  registerCluster(registered: RegisteredCluster): void {
    const { name } = registered;
    const cluster = buildCluster(
      {
        name,
        roleArn:
          registered.roleArn ??
          `arn:aws:iam::${this.#location.accountId}:role/eks-local-cluster-role`,
        resourcesVpcConfig: { subnetIds: [] },
        version: registered.version ?? defaultKubernetesVersion,
        tags: registered.tags ?? {},
      },
      this.#location,
      makeClusterHexId(),
    );
    cluster.status = 'ACTIVE';
    cluster.endpoint = registered.endpoint;
    cluster.certificateAuthority = { data: registered.certificateAuthorityData };
    const existing = this.#clusters.get(name);
    this.#clusters.set(name, {
      cluster,
      failure: {},
      nodegroups: existing?.nodegroups ?? new Map(),
      fargateProfiles: existing?.fargateProfiles ?? new Map(),
      ...(registered.close ? { close: registered.close } : {}),
    });
  }

  /** Queues a one-shot failure for the named resource's next creation or deletion. */
  script(failure: ScriptedFailure): void {
    this.#scripts.add(failure, this.#findRecord(failure));
  }

  /** Stops every pending transition and closes every provisioned cluster. */
  async close(): Promise<void> {
    await this.#transitions.close();
    const closing = [...this.#clusters.values()].flatMap((r) => (r.close ? [r.close()] : []));
    this.#clusters.clear();
    await Promise.allSettled(closing);
  }

  // ---- clusters -----------------------------------------------------------------------------

  createCluster(input: JsonObject): Cluster {
    const hexId = makeClusterHexId();
    const cluster = buildCluster(input, this.#location, hexId);
    const name = cluster.name as string;
    const existing = this.#clusters.get(name);
    if (existing) {
      if (isSameRequest(existing.cluster.clientRequestToken, cluster.clientRequestToken)) {
        return existing.cluster;
      }
      throw resourceInUse(`Cluster already exists with name: ${name}`, { clusterName: name });
    }
    const record: ClusterRecord = {
      cluster,
      failure: this.#scripts.take({ resource: 'cluster', name }, cluster.tags),
      nodegroups: new Map(),
      fargateProfiles: new Map(),
    };
    this.#clusters.set(name, record);
    this.#transitions.after(this.#timings.clusterCreatingMs, () =>
      this.#finishClusterCreate(record, hexId),
    );
    return cluster;
  }

  describeCluster(name: string): Cluster {
    return this.#getCluster(name).cluster;
  }

  deleteCluster(name: string): Cluster {
    const record = this.#getCluster(name);
    const { cluster } = record;
    if (cluster.status === 'DELETING') return cluster;
    if (cluster.status === 'CREATING' || cluster.status === 'UPDATING') {
      throw resourceInUse(`Cluster ${name} is currently in ${cluster.status} status.`, {
        clusterName: name,
      });
    }
    if (cluster.deletionProtection) {
      throw invalidRequest(
        `Cannot delete cluster ${name} because deletion protection is enabled. Disable deletion protection first.`,
        { clusterName: name },
      );
    }
    if (record.nodegroups.size > 0) {
      throw resourceInUse('Cluster has nodegroups attached', { clusterName: name });
    }
    if (record.fargateProfiles.size > 0) {
      throw resourceInUse('Cluster has fargate profiles attached', { clusterName: name });
    }
    cluster.status = 'DELETING';
    this.#transitions.after(this.#timings.clusterDeletingMs, () =>
      this.#finishClusterDelete(name, record),
    );
    return cluster;
  }

  listClusters(maxResults: number | undefined, nextToken: string | undefined): NamePage {
    return paginate([...this.#clusters.keys()], maxResults, nextToken);
  }

  // ---- internals ----------------------------------------------------------------------------

  async #finishClusterCreate(record: ClusterRecord, hexId: string): Promise<void> {
    const { cluster } = record;
    const name = cluster.name as string;
    if (record.failure.onCreate) {
      cluster.status = 'FAILED';
      cluster.health = {
        issues: issuesOr(record.failure.onCreate, clusterCreateIssues(cluster)),
      };
      return;
    }
    let endpoint = `https://${hexId}.gr7.${this.#location.region}.eks.amazonaws.com`;
    let certificateAuthorityData = makePlaceholderCaData();
    if (this.#provisionCluster) {
      try {
        const provisioned = await this.#provisionCluster(name);
        if (this.#transitions.closed || this.#clusters.get(name) !== record) {
          await provisioned.close();
          return;
        }
        record.close = () => provisioned.close();
        endpoint = provisioned.endpoint;
        certificateAuthorityData = provisioned.certificateAuthorityData;
      } catch (error) {
        cluster.status = 'FAILED';
        cluster.health = {
          issues: [
            {
              code: 'InternalFailure',
              message: `Provisioning the local API server failed: ${(error as Error).message}`,
              resourceIds: [],
            },
          ],
        };
        return;
      }
    }
    cluster.endpoint = endpoint;
    cluster.certificateAuthority = { data: certificateAuthorityData };
    cluster.status = 'ACTIVE';
  }

  async #finishClusterDelete(name: string, record: ClusterRecord): Promise<void> {
    const failure = record.failure.onDelete;
    if (failure) {
      record.failure.onDelete = undefined;
      record.cluster.status = 'ACTIVE';
      record.cluster.health = {
        issues: issuesOr(failure, clusterDeleteIssues(record.cluster)),
      };
      return;
    }
    if (this.#clusters.get(name) === record) this.#clusters.delete(name);
    await record.close?.();
  }

  #findRecord(target: ScriptedFailure): { failure: Failure<unknown> } | undefined {
    if (target.resource === 'cluster') return this.#clusters.get(target.name);
    const owner = this.#clusters.get(target.clusterName);
    return target.resource === 'nodegroup'
      ? owner?.nodegroups.get(target.name)
      : owner?.fargateProfiles.get(target.name);
  }

  #getCluster(name: string): ClusterRecord {
    const record = this.#clusters.get(name);
    if (!record) throw clusterNotFound(name);
    return record;
  }

  #getActiveCluster(name: string): ClusterRecord {
    const record = this.#getCluster(name);
    if (record.cluster.status !== 'ACTIVE') {
      throw invalidRequest(`Cluster '${name}' is not in ACTIVE status`, { clusterName: name });
    }
    return record;
  }
}
