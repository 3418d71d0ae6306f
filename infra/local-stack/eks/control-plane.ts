/**
 * The state of the local EKS control plane: clusters, node groups and Fargate profiles, and the
 * status machine each one goes through (`CREATING` -> `ACTIVE`, `DELETING` -> gone), with scripted
 * failures. The HTTP layer (server.ts) decodes requests and calls in here; every refusal is an
 * `EksApiError` shaped as EKS's own.
 */
import { randomBytes } from 'node:crypto';
import type {
  Cluster,
  ClusterIssue,
  FargateProfile,
  FargateProfileIssue,
  Issue,
  Nodegroup,
} from '@aws-sdk/client-eks';
import {
  clusterNotFound,
  fargateProfileNotFound,
  invalidParameter,
  invalidRequest,
  nodegroupNotFound,
  resourceInUse,
} from './errors.ts';
import type { JsonObject } from './input.ts';
import {
  buildCluster,
  buildFargateProfile,
  buildNodegroup,
  defaultIssues,
  defaultKubernetesVersion,
  type EksLocation,
  makeClusterHexId,
} from './resources.ts';

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

interface Failure<TIssue> {
  onCreate?: TIssue[] | 'default';
  onDelete?: TIssue[] | 'default';
}

interface ClusterRecord {
  cluster: Cluster;
  failure: Failure<ClusterIssue>;
  nodegroups: Map<string, ResourceRecord<Nodegroup, Issue>>;
  fargateProfiles: Map<string, ResourceRecord<FargateProfile, FargateProfileIssue>>;
  close?: () => Promise<void>;
}

interface ResourceRecord<T, TIssue> {
  resource: T;
  failure: Failure<TIssue>;
  /** Node groups and Fargate profiles do not echo the token, but EKS still honours it. */
  requestToken: unknown;
}

/** One page of a List* answer. */
export interface NamePage {
  names: string[];
  nextToken?: string;
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
  readonly #scripts: ScriptedFailure[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: ControlPlaneStateOptions) {
    this.#location = options.location;
    this.#timings = options.timings;
    this.#provisionCluster = options.provisionCluster;
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
    this.#scripts.push(failure);
    // A resource that already exists picks up a deletion failure now.
    if (failure.outcome !== 'DELETE_FAILED') return;
    const record = this.#findRecord(failure);
    if (record) {
      record.failure.onDelete = (failure.issues as never) ?? 'default';
      this.#scripts.splice(this.#scripts.indexOf(failure), 1);
    }
  }

  /** Stops every pending transition and closes every provisioned cluster. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
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
      failure: this.#takeFailure({ resource: 'cluster', name }, cluster.tags),
      nodegroups: new Map(),
      fargateProfiles: new Map(),
    };
    this.#clusters.set(name, record);
    this.#after(this.#timings.clusterCreatingMs, () => this.#finishClusterCreate(record, hexId));
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
    this.#after(this.#timings.clusterDeletingMs, () => this.#finishClusterDelete(name, record));
    return cluster;
  }

  listClusters(maxResults: number | undefined, nextToken: string | undefined): NamePage {
    return paginate([...this.#clusters.keys()], maxResults, nextToken);
  }

  // ---- node groups --------------------------------------------------------------------------

  createNodegroup(clusterName: string, input: JsonObject): Nodegroup {
    const owner = this.#getActiveCluster(clusterName);
    const nodegroup = buildNodegroup(input, owner.cluster, this.#location);
    const name = nodegroup.nodegroupName as string;
    const existing = owner.nodegroups.get(name);
    if (existing) {
      if (isSameRequest(existing.requestToken, input.clientRequestToken)) {
        return existing.resource;
      }
      throw resourceInUse(
        `NodeGroup already exists with name ${name} and cluster name ${clusterName}`,
        {
          clusterName,
          nodegroupName: name,
        },
      );
    }
    const record: ResourceRecord<Nodegroup, Issue> = {
      resource: nodegroup,
      failure: this.#takeFailure({ resource: 'nodegroup', clusterName, name }, nodegroup.tags),
      requestToken: input.clientRequestToken,
    };
    owner.nodegroups.set(name, record);
    this.#after(this.#timings.nodegroupCreatingMs, () => {
      if (record.failure.onCreate) {
        nodegroup.status = 'CREATE_FAILED';
        nodegroup.health = {
          issues: issuesOr(record.failure.onCreate, defaultIssues.nodegroupCreate(nodegroup)),
        };
      } else {
        nodegroup.status = 'ACTIVE';
        nodegroup.resources = {
          autoScalingGroups: [{ name: `eks-${name}-${randomBytes(16).toString('hex')}` }],
        };
      }
      nodegroup.modifiedAt = new Date();
    });
    return nodegroup;
  }

  describeNodegroup(clusterName: string, nodegroupName: string): Nodegroup {
    return this.#getNodegroup(clusterName, nodegroupName).resource;
  }

  deleteNodegroup(clusterName: string, nodegroupName: string): Nodegroup {
    const owner = this.#getCluster(clusterName);
    const record = this.#getNodegroup(clusterName, nodegroupName);
    const nodegroup = record.resource;
    if (nodegroup.status === 'DELETING') return nodegroup;
    if (nodegroup.status === 'CREATING' || nodegroup.status === 'UPDATING') {
      throw resourceInUse(
        `Nodegroup ${nodegroupName} is currently in ${nodegroup.status} status.`,
        {
          clusterName,
          nodegroupName,
        },
      );
    }
    nodegroup.status = 'DELETING';
    nodegroup.modifiedAt = new Date();
    this.#after(this.#timings.nodegroupDeletingMs, () => {
      const failure = record.failure.onDelete;
      if (failure) {
        // One-shot: the next delete request goes through.
        record.failure.onDelete = undefined;
        nodegroup.status = 'DELETE_FAILED';
        nodegroup.health = { issues: issuesOr(failure, defaultIssues.nodegroupDelete(nodegroup)) };
        nodegroup.modifiedAt = new Date();
      } else {
        owner.nodegroups.delete(nodegroupName);
      }
    });
    return nodegroup;
  }

  listNodegroups(
    clusterName: string,
    maxResults: number | undefined,
    nextToken: string | undefined,
  ): NamePage {
    return paginate([...this.#getCluster(clusterName).nodegroups.keys()], maxResults, nextToken);
  }

  // ---- Fargate profiles ---------------------------------------------------------------------

  createFargateProfile(clusterName: string, input: JsonObject): FargateProfile {
    const owner = this.#getActiveCluster(clusterName);
    const profile = buildFargateProfile(input, owner.cluster, this.#location);
    const name = profile.fargateProfileName as string;
    const existing = owner.fargateProfiles.get(name);
    if (existing) {
      if (isSameRequest(existing.requestToken, input.clientRequestToken)) {
        return existing.resource;
      }
      throw resourceInUse('A Fargate Profile already exists with this name in this cluster.', {
        clusterName,
        fargateProfileName: name,
      });
    }
    const record: ResourceRecord<FargateProfile, FargateProfileIssue> = {
      resource: profile,
      failure: this.#takeFailure({ resource: 'fargateProfile', clusterName, name }, profile.tags),
      requestToken: input.clientRequestToken,
    };
    owner.fargateProfiles.set(name, record);
    this.#after(this.#timings.fargateProfileCreatingMs, () => {
      if (record.failure.onCreate) {
        profile.status = 'CREATE_FAILED';
        profile.health = {
          issues: issuesOr(record.failure.onCreate, defaultIssues.fargateProfileCreate(profile)),
        };
      } else {
        profile.status = 'ACTIVE';
      }
    });
    return profile;
  }

  describeFargateProfile(clusterName: string, fargateProfileName: string): FargateProfile {
    return this.#getFargateProfile(clusterName, fargateProfileName).resource;
  }

  deleteFargateProfile(clusterName: string, fargateProfileName: string): FargateProfile {
    const owner = this.#getCluster(clusterName);
    const record = this.#getFargateProfile(clusterName, fargateProfileName);
    const profile = record.resource;
    if (profile.status === 'DELETING') return profile;
    if (profile.status === 'CREATING') {
      throw resourceInUse(
        `Fargate Profile ${fargateProfileName} is currently in CREATING status.`,
        {
          clusterName,
          fargateProfileName,
        },
      );
    }
    profile.status = 'DELETING';
    this.#after(this.#timings.fargateProfileDeletingMs, () => {
      const failure = record.failure.onDelete;
      if (failure) {
        record.failure.onDelete = undefined;
        profile.status = 'DELETE_FAILED';
        profile.health = { issues: issuesOr(failure, defaultIssues.fargateProfileDelete(profile)) };
      } else {
        owner.fargateProfiles.delete(fargateProfileName);
      }
    });
    return profile;
  }

  listFargateProfiles(
    clusterName: string,
    maxResults: number | undefined,
    nextToken: string | undefined,
  ): NamePage {
    return paginate(
      [...this.#getCluster(clusterName).fargateProfiles.keys()],
      maxResults,
      nextToken,
    );
  }

  // ---- internals ----------------------------------------------------------------------------

  async #finishClusterCreate(record: ClusterRecord, hexId: string): Promise<void> {
    const { cluster } = record;
    const name = cluster.name as string;
    if (record.failure.onCreate) {
      cluster.status = 'FAILED';
      cluster.health = {
        issues: issuesOr(record.failure.onCreate, defaultIssues.clusterCreate(cluster)),
      };
      return;
    }
    let endpoint = `https://${hexId}.gr7.${this.#location.region}.eks.amazonaws.com`;
    let certificateAuthorityData = makePlaceholderCaData();
    if (this.#provisionCluster) {
      try {
        const provisioned = await this.#provisionCluster(name);
        if (this.#closed || this.#clusters.get(name) !== record) {
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
        issues: issuesOr(failure, defaultIssues.clusterDelete(record.cluster)),
      };
      return;
    }
    if (this.#clusters.get(name) === record) this.#clusters.delete(name);
    await record.close?.();
  }

  /** Runs `action` after `delayMs`, unless the control plane closes first. */
  #after(delayMs: number, action: () => void | Promise<void>): void {
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

  /** The failure a new resource is due: a queued script wins over its outcome tag. */
  #takeFailure<TIssue>(
    target: { resource: ScriptedFailure['resource']; name: string; clusterName?: string },
    tags: Record<string, string> | undefined,
  ): Failure<TIssue> {
    const failure: Failure<TIssue> = {};
    const tagged = tags?.[outcomeTagKey];
    if (tagged === 'FAILED' || tagged === 'CREATE_FAILED') failure.onCreate = 'default';
    if (tagged === 'DELETE_FAILED') failure.onDelete = 'default';
    for (const script of this.#scripts.filter((s) => matches(s, target))) {
      this.#scripts.splice(this.#scripts.indexOf(script), 1);
      const issues = (script.issues as TIssue[] | undefined) ?? 'default';
      if (script.outcome === 'DELETE_FAILED') failure.onDelete = issues;
      else failure.onCreate = issues;
    }
    return failure;
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

  #getNodegroup(clusterName: string, nodegroupName: string): ResourceRecord<Nodegroup, Issue> {
    const record = this.#getCluster(clusterName).nodegroups.get(nodegroupName);
    if (!record) throw nodegroupNotFound(clusterName, nodegroupName);
    return record;
  }

  #getFargateProfile(
    clusterName: string,
    fargateProfileName: string,
  ): ResourceRecord<FargateProfile, FargateProfileIssue> {
    const record = this.#getCluster(clusterName).fargateProfiles.get(fargateProfileName);
    if (!record) throw fargateProfileNotFound(clusterName, fargateProfileName);
    return record;
  }
}

const matches = (
  script: ScriptedFailure,
  target: { resource: ScriptedFailure['resource']; name: string; clusterName?: string },
): boolean =>
  script.resource === target.resource &&
  script.name === target.name &&
  (script.resource === 'cluster' || script.clusterName === target.clusterName);

/** A repeated create is answered with the existing resource only when it carries the same token. */
const isSameRequest = (stored: unknown, received: unknown): boolean =>
  typeof stored === 'string' && stored !== '' && stored === received;

const issuesOr = <T>(issues: T[] | 'default', fallback: T[]): T[] =>
  issues === 'default' ? fallback : issues;

/**
 * Without a provisioning hook there is no real API server, so the CA is a placeholder shaped like
 * EKS's (base64 of a PEM block); nothing can connect to the fake endpoint anyway.
 */
const makePlaceholderCaData = (): string => {
  const body = randomBytes(96).toString('base64');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
  return Buffer.from(pem).toString('base64');
};

const maxPageSize = 100;

/**
 * Names sorted, a page at a time. The token names the last item returned (not an offset), so a
 * resource deleted between pages does not make the next page skip one.
 */
function paginate(
  names: string[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): NamePage {
  const pageSize = maxResults ?? maxPageSize;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
    throw invalidParameter(`maxResults must be between 1 and ${maxPageSize}.`);
  }
  const sorted = [...names].sort();
  let start = 0;
  if (nextToken !== undefined) {
    const after = decodeNextToken(nextToken);
    start = sorted.findIndex((name) => name > after);
    if (start === -1) start = sorted.length;
  }
  const page = sorted.slice(start, start + pageSize);
  const last = page.at(-1);
  return start + pageSize < sorted.length && last !== undefined
    ? { names: page, nextToken: encodeNextToken(last) }
    : { names: page };
}

const encodeNextToken = (after: string): string =>
  Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');

const decodeNextToken = (token: string): string => {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const after = (decoded as { after?: unknown }).after;
    if (typeof after === 'string') return after;
  } catch {
    // fall through to the EKS error below
  }
  throw invalidParameter('The nextToken provided is not valid.');
};
