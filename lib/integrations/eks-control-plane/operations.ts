/**
 * The six EKS control-plane operations Step Functions integrates natively, described as data: which
 * SDK call starts it, which describe call follows it, and which statuses end a `.sync` wait (the
 * acceptors of the official EKS waiters, contract §3).
 *
 * Keeping inputs in step with the SDK, the compile-time half (the run-time half is the schema walk
 * in `member-shapes.ts`):
 * - each operation lists every member of its SDK request type with `listEvery<keyof Request>()`;
 *   the list must be exactly the type's keys, so an SDK upgrade that adds a member breaks the build
 *   until the list (and so our review of the new member) is updated. A test checks that the lists
 *   equal the SDK's runtime schemas, tying the types and the schemas together;
 * - required members are listed the same way against the request type's non-optional keys, and are
 *   checked at run time (the schemas do not say which members are required);
 * - the PascalCase input types (`CreateClusterInput`, ...) are derived from the SDK request types.
 */
import {
  type CreateClusterRequest,
  CreateClusterRequest$,
  CreateClusterResponse$,
  type CreateFargateProfileRequest,
  CreateFargateProfileRequest$,
  CreateFargateProfileResponse$,
  type CreateNodegroupRequest,
  CreateNodegroupRequest$,
  CreateNodegroupResponse$,
  type DeleteClusterRequest,
  DeleteClusterRequest$,
  DeleteClusterResponse$,
  type DeleteFargateProfileRequest,
  DeleteFargateProfileRequest$,
  DeleteFargateProfileResponse$,
  type DeleteNodegroupRequest,
  DeleteNodegroupRequest$,
  DeleteNodegroupResponse$,
  DescribeClusterResponse$,
  DescribeFargateProfileResponse$,
  DescribeNodegroupResponse$,
} from '@aws-sdk/client-eks';
import type { EksControlPlane } from '../../aws/eks-control-plane.ts';
import { ErrorName } from '../../errors.ts';
import type { PascalCaseKeys, SchemaRef } from './member-shapes.ts';

/** Keys of `T` that are not optional: the members EKS requires. */
export type RequiredKeys<T> = {
  [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? never : K;
}[keyof T];

type MissingKeys<K, L extends readonly unknown[]> = Exclude<K, L[number]>;

/**
 * Returns a list that the compiler checks to contain every key in `K` (and nothing else): a
 * missing key is reported as `missingKeys: '<key>'` at the call site.
 */
const listEvery =
  <K extends string>() =>
  <const L extends readonly K[]>(
    keys: L & ([MissingKeys<K, L>] extends [never] ? unknown : { missingKeys: MissingKeys<K, L> }),
  ): readonly K[] =>
    keys;

/**
 * Both member lists of a request whose every member is required (the deletes), checked as
 * {@link listEvery} checks each: every key of `T` listed, and each of them required.
 */
const listEveryRequired =
  <T>() =>
  <const L extends readonly (RequiredKeys<T> & string)[]>(
    keys: L &
      ([MissingKeys<keyof T, L>] extends [never]
        ? unknown
        : { missingKeys: MissingKeys<keyof T, L> }),
  ): Pick<EksOperation, 'allMembers' | 'requiredMembers'> => ({
    allMembers: keys,
    requiredMembers: keys,
  });

/** Task input of `eks:createCluster`: the SDK request in PascalCase. */
export type CreateClusterInput = PascalCaseKeys<CreateClusterRequest>;
export type DeleteClusterInput = PascalCaseKeys<DeleteClusterRequest>;
export type CreateNodegroupInput = PascalCaseKeys<CreateNodegroupRequest>;
export type DeleteNodegroupInput = PascalCaseKeys<DeleteNodegroupRequest>;
export type CreateFargateProfileInput = PascalCaseKeys<CreateFargateProfileRequest>;
export type DeleteFargateProfileInput = PascalCaseKeys<DeleteFargateProfileRequest>;

/** The resource an operation acts on; names the output key and the failure error. */
export interface ResourceFamily {
  /** `Cluster`, `Nodegroup`, `FargateProfile`: the output key, and what log lines call it. */
  readonly label: 'Cluster' | 'Nodegroup' | 'FargateProfile';
  /** `EKS.ClusterFailed`, ...: the error for a failed terminal state. */
  readonly failedErrorName: string;
  readonly describeResponseSchema: SchemaRef;
  /** Describes the resource named by a (create or delete) request. */
  describe(eks: EksControlPlane, request: never, signal: AbortSignal): Promise<unknown>;
  /** The resource's status in a describe response. */
  statusOf(describeResponse: unknown): string | undefined;
  /** A short human name for logs and messages, e.g. `MyCluster/MyNodegroup`. */
  nameOf(request: never): string;
}

/** When a `.sync` wait ends, following the official EKS waiter acceptors. */
export interface WaitRule {
  /** Statuses that end the wait with success (create waits). */
  readonly successStatuses: readonly string[];
  /** Statuses that end the wait with `EKS.<Resource>Failed`. */
  readonly failureStatuses: readonly string[];
  /** Whether `ResourceNotFoundException` ends the wait with success (delete waits). */
  readonly succeedsWhenNotFound: boolean;
}

/** One native integration (`eks:createCluster`), with and without `.sync`. */
export interface EksOperation {
  /** `createCluster`: the activity suffixes are `eks-<name>` and `eks-<name>-sync`. */
  readonly name: string;
  readonly family: ResourceFamily;
  readonly requestSchema: SchemaRef;
  readonly responseSchema: SchemaRef;
  /** Every member of the SDK request type (compiler-checked), in camelCase. */
  readonly allMembers: readonly string[];
  /** The members EKS requires (compiler-checked against the request type), in camelCase. */
  readonly requiredMembers: readonly string[];
  call(eks: EksControlPlane, request: never, signal: AbortSignal): Promise<unknown>;
  readonly waitRule: WaitRule;
}

interface NamedCluster {
  name?: string | undefined;
}
interface NamedNodegroup {
  clusterName?: string | undefined;
  nodegroupName?: string | undefined;
}
interface NamedFargateProfile {
  clusterName?: string | undefined;
  fargateProfileName?: string | undefined;
}

const clusterFamily = {
  label: 'Cluster',
  failedErrorName: ErrorName.ClusterFailed,
  describeResponseSchema: DescribeClusterResponse$,
  describe: (eks, request: NamedCluster, signal) =>
    eks.describeCluster({ name: request.name }, signal),
  statusOf: (response) => (response as { cluster?: { status?: string } }).cluster?.status,
  nameOf: (request: NamedCluster) => String(request.name),
} as const satisfies ResourceFamily;

const nodegroupFamily = {
  label: 'Nodegroup',
  failedErrorName: ErrorName.NodegroupFailed,
  describeResponseSchema: DescribeNodegroupResponse$,
  describe: (eks, request: NamedNodegroup, signal) =>
    eks.describeNodegroup(
      { clusterName: request.clusterName, nodegroupName: request.nodegroupName },
      signal,
    ),
  statusOf: (response) => (response as { nodegroup?: { status?: string } }).nodegroup?.status,
  nameOf: (request: NamedNodegroup) => `${request.clusterName}/${request.nodegroupName}`,
} as const satisfies ResourceFamily;

const fargateProfileFamily = {
  label: 'FargateProfile',
  failedErrorName: ErrorName.FargateProfileFailed,
  describeResponseSchema: DescribeFargateProfileResponse$,
  describe: (eks, request: NamedFargateProfile, signal) =>
    eks.describeFargateProfile(
      { clusterName: request.clusterName, fargateProfileName: request.fargateProfileName },
      signal,
    ),
  statusOf: (response) =>
    (response as { fargateProfile?: { status?: string } }).fargateProfile?.status,
  nameOf: (request: NamedFargateProfile) => `${request.clusterName}/${request.fargateProfileName}`,
} as const satisfies ResourceFamily;

// Waiter acceptors as in the SDK's waitUntilClusterActive, waitUntilClusterDeleted, ...
const waitUntilActive = (failureStatuses: readonly string[]): WaitRule => ({
  successStatuses: ['ACTIVE'],
  failureStatuses,
  succeedsWhenNotFound: false,
});
const waitUntilGone = (failureStatuses: readonly string[]): WaitRule => ({
  successStatuses: [],
  failureStatuses,
  succeedsWhenNotFound: true,
});

/** The six operations, each served as `eks-<name>` and `eks-<name>-sync`. */
export const eksOperations: readonly EksOperation[] = [
  {
    name: 'createCluster',
    family: clusterFamily,
    requestSchema: CreateClusterRequest$,
    responseSchema: CreateClusterResponse$,
    allMembers: listEvery<keyof CreateClusterRequest>()([
      'name',
      'version',
      'roleArn',
      'resourcesVpcConfig',
      'kubernetesNetworkConfig',
      'logging',
      'clientRequestToken',
      'tags',
      'encryptionConfig',
      'outpostConfig',
      'accessConfig',
      'bootstrapSelfManagedAddons',
      'upgradePolicy',
      'zonalShiftConfig',
      'remoteNetworkConfig',
      'computeConfig',
      'storageConfig',
      'deletionProtection',
      'controlPlaneScalingConfig',
      'kubeApiServerConfig',
      'kubeSchedulerConfig',
      'kubeControllerManagerConfig',
    ]),
    requiredMembers: listEvery<RequiredKeys<CreateClusterRequest>>()([
      'name',
      'roleArn',
      'resourcesVpcConfig',
    ]),
    call: (eks, request: CreateClusterRequest, signal) => eks.createCluster(request, signal),
    waitRule: waitUntilActive(['FAILED', 'DELETING']),
  },
  {
    name: 'deleteCluster',
    family: clusterFamily,
    requestSchema: DeleteClusterRequest$,
    responseSchema: DeleteClusterResponse$,
    ...listEveryRequired<DeleteClusterRequest>()(['name']),
    call: (eks, request: DeleteClusterRequest, signal) => eks.deleteCluster(request, signal),
    waitRule: waitUntilGone(['ACTIVE', 'CREATING', 'PENDING']),
  },
  {
    name: 'createNodegroup',
    family: nodegroupFamily,
    requestSchema: CreateNodegroupRequest$,
    responseSchema: CreateNodegroupResponse$,
    allMembers: listEvery<keyof CreateNodegroupRequest>()([
      'clusterName',
      'nodegroupName',
      'scalingConfig',
      'diskSize',
      'subnets',
      'instanceTypes',
      'amiType',
      'remoteAccess',
      'nodeRole',
      'labels',
      'taints',
      'tags',
      'clientRequestToken',
      'launchTemplate',
      'updateConfig',
      'nodeRepairConfig',
      'capacityType',
      'version',
      'releaseVersion',
      'warmPoolConfig',
    ]),
    requiredMembers: listEvery<RequiredKeys<CreateNodegroupRequest>>()([
      'clusterName',
      'nodegroupName',
      'subnets',
      'nodeRole',
    ]),
    call: (eks, request: CreateNodegroupRequest, signal) => eks.createNodegroup(request, signal),
    waitRule: waitUntilActive(['CREATE_FAILED']),
  },
  {
    name: 'deleteNodegroup',
    family: nodegroupFamily,
    requestSchema: DeleteNodegroupRequest$,
    responseSchema: DeleteNodegroupResponse$,
    ...listEveryRequired<DeleteNodegroupRequest>()(['clusterName', 'nodegroupName']),
    call: (eks, request: DeleteNodegroupRequest, signal) => eks.deleteNodegroup(request, signal),
    waitRule: waitUntilGone(['DELETE_FAILED']),
  },
  {
    name: 'createFargateProfile',
    family: fargateProfileFamily,
    requestSchema: CreateFargateProfileRequest$,
    responseSchema: CreateFargateProfileResponse$,
    allMembers: listEvery<keyof CreateFargateProfileRequest>()([
      'fargateProfileName',
      'clusterName',
      'podExecutionRoleArn',
      'subnets',
      'selectors',
      'clientRequestToken',
      'tags',
    ]),
    requiredMembers: listEvery<RequiredKeys<CreateFargateProfileRequest>>()([
      'fargateProfileName',
      'clusterName',
      'podExecutionRoleArn',
    ]),
    call: (eks, request: CreateFargateProfileRequest, signal) =>
      eks.createFargateProfile(request, signal),
    waitRule: waitUntilActive(['CREATE_FAILED']),
  },
  {
    name: 'deleteFargateProfile',
    family: fargateProfileFamily,
    requestSchema: DeleteFargateProfileRequest$,
    responseSchema: DeleteFargateProfileResponse$,
    ...listEveryRequired<DeleteFargateProfileRequest>()(['clusterName', 'fargateProfileName']),
    call: (eks, request: DeleteFargateProfileRequest, signal) =>
      eks.deleteFargateProfile(request, signal),
    waitRule: waitUntilGone(['DELETE_FAILED']),
  },
];
