/**
 * Fargate profiles: what a CreateFargateProfile request builds and how a profile differs in the
 * life cycle it shares with node groups (cluster-children.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, FargateProfile, FargateProfileIssue } from '@aws-sdk/client-eks';
import type { ChildKind } from './cluster-children.ts';
import { fargateProfileNotFound, invalidParameter, resourceInUse } from './errors.ts';
import {
  type JsonObject,
  readObjectList,
  readRequiredString,
  readResourceName,
  readStringList,
  readStringMap,
  readTags,
} from './input.ts';
import type { EksLocation } from './resources.ts';

export const fargateProfileKind: ChildKind<FargateProfile, FargateProfileIssue> = {
  resource: 'fargateProfile',
  records: (owner) => owner.fargateProfiles,
  build: (input, cluster, location) => buildFargateProfile(input, cluster, location),
  nameOf: (profile) => profile.fargateProfileName as string,
  creatingMs: (timings) => timings.fargateProfileCreatingMs,
  deletingMs: (timings) => timings.fargateProfileDeletingMs,
  busyStatuses: ['CREATING'],
  alreadyExists: (clusterName, fargateProfileName) =>
    resourceInUse('A Fargate Profile already exists with this name in this cluster.', {
      clusterName,
      fargateProfileName,
    }),
  notFound: fargateProfileNotFound,
  busy: (clusterName, fargateProfileName, status) =>
    resourceInUse(`Fargate Profile ${fargateProfileName} is currently in ${status} status.`, {
      clusterName,
      fargateProfileName,
    }),
  activate: (profile) => {
    profile.status = 'ACTIVE';
  },
  createIssues: (profile) => createFailureIssues(profile),
  deleteIssues: (profile) => deleteFailureIssues(profile),
  // A Fargate profile has no modifiedAt.
  touch: () => {},
};

/** A Fargate profile in `CREATING`. */
function buildFargateProfile(
  input: JsonObject,
  cluster: Cluster,
  location: EksLocation,
): FargateProfile {
  const clusterName = cluster.name ?? '';
  const fargateProfileName = readResourceName(input, 'fargateProfileName', 'Fargate profile', 63);
  const podExecutionRoleArn = readRequiredString(input, 'podExecutionRoleArn');
  const selectors = readObjectList(input, 'selectors') ?? [];
  if (selectors.length > 5) {
    throw invalidParameter('A Fargate profile can have at most 5 selectors.', {
      clusterName,
      fargateProfileName,
    });
  }
  for (const selector of selectors) {
    readRequiredString(selector, 'namespace');
    readStringMap(selector, 'labels');
  }
  const tags = readTags(input);
  return {
    fargateProfileName,
    fargateProfileArn: `arn:aws:eks:${location.region}:${location.accountId}:fargateprofile/${clusterName}/${fargateProfileName}/${randomUUID()}`,
    clusterName,
    createdAt: new Date(),
    podExecutionRoleArn,
    // EKS defaults to the cluster's subnets when none are given (it keeps only private ones).
    subnets: readStringList(input, 'subnets') ?? [...(cluster.resourcesVpcConfig?.subnetIds ?? [])],
    selectors: selectors.map((s) => ({
      namespace: s.namespace as string,
      ...(s.labels === undefined ? {} : { labels: s.labels as Record<string, string> }),
    })),
    status: 'CREATING',
    tags: tags ?? {},
    health: { issues: [] },
  };
}

/** Health issues like EKS's own, for scripted failures that give none. */
const createFailureIssues = (profile: FargateProfile): FargateProfileIssue[] => [
  {
    code: 'AccessDenied',
    message: `Unable to assume the pod execution role ${profile.podExecutionRoleArn}. Check its trust policy.`,
    resourceIds: [profile.podExecutionRoleArn ?? ''],
  },
];

const deleteFailureIssues = (_profile: FargateProfile): FargateProfileIssue[] => [
  {
    code: 'InternalFailure',
    message: 'Fargate profile deletion failed.',
    resourceIds: [],
  },
];
