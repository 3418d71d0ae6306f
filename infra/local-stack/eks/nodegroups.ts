/**
 * Managed node groups: what a CreateNodegroup request builds (the members given, echoed, plus
 * EKS's defaults) and how a node group differs in the life cycle it shares with Fargate profiles
 * (cluster-children.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Cluster, Issue, Nodegroup } from '@aws-sdk/client-eks';
import type { ChildKind } from './cluster-children.ts';
import { invalidParameter, nodegroupNotFound, resourceInUse } from './errors.ts';
import {
  type JsonObject,
  readInteger,
  readObject,
  readObjectList,
  readRequiredString,
  readResourceName,
  readString,
  readStringList,
  readStringMap,
  readTags,
} from './input.ts';
import { defaultKubernetesVersion, type EksLocation, makeShortId, optional } from './resources.ts';

export const nodegroupKind: ChildKind<Nodegroup, Issue> = {
  resource: 'nodegroup',
  records: (owner) => owner.nodegroups,
  build: (input, cluster, location) => buildNodegroup(input, cluster, location),
  nameOf: (nodegroup) => nodegroup.nodegroupName as string,
  creatingMs: (timings) => timings.nodegroupCreatingMs,
  deletingMs: (timings) => timings.nodegroupDeletingMs,
  busyStatuses: ['CREATING', 'UPDATING'],
  alreadyExists: (clusterName, nodegroupName) =>
    resourceInUse(
      `NodeGroup already exists with name ${nodegroupName} and cluster name ${clusterName}`,
      { clusterName, nodegroupName },
    ),
  notFound: nodegroupNotFound,
  busy: (clusterName, nodegroupName, status) =>
    resourceInUse(`Nodegroup ${nodegroupName} is currently in ${status} status.`, {
      clusterName,
      nodegroupName,
    }),
  activate: (nodegroup) => {
    nodegroup.status = 'ACTIVE';
    nodegroup.resources = {
      autoScalingGroups: [
        { name: `eks-${nodegroup.nodegroupName}-${randomBytes(16).toString('hex')}` },
      ],
    };
  },
  createIssues: (nodegroup) => createFailureIssues(nodegroup),
  deleteIssues: (nodegroup) => deleteFailureIssues(nodegroup),
  touch: (nodegroup) => {
    nodegroup.modifiedAt = new Date();
  },
};

/** A node group in `CREATING`, on `cluster` (which must be ACTIVE; the caller checks). */
function buildNodegroup(input: JsonObject, cluster: Cluster, location: EksLocation): Nodegroup {
  const clusterName = cluster.name ?? '';
  const nodegroupName = readResourceName(input, 'nodegroupName', 'Nodegroup', 63);
  const subnets = readStringList(input, 'subnets');
  if (!subnets || subnets.length === 0) {
    throw invalidParameter('subnets is required and must name at least one subnet.', {
      clusterName,
      nodegroupName,
    });
  }
  const nodeRole = readRequiredString(input, 'nodeRole');
  const scaling = readObject(input, 'scalingConfig') ?? {};
  const desiredSize = readInteger(scaling, 'desiredSize') ?? 2;
  const minSize = readInteger(scaling, 'minSize') ?? 1;
  const maxSize = readInteger(scaling, 'maxSize') ?? Math.max(2, desiredSize);
  if (
    minSize < 0 ||
    maxSize < 1 ||
    minSize > maxSize ||
    desiredSize < minSize ||
    desiredSize > maxSize
  ) {
    throw invalidParameter(
      `Invalid scaling configuration: minSize ${minSize}, maxSize ${maxSize}, desiredSize ${desiredSize}. Requires 0 <= minSize <= desiredSize <= maxSize and maxSize >= 1.`,
      { clusterName, nodegroupName },
    );
  }
  const launchTemplate = readObject(input, 'launchTemplate');
  const diskSize = readInteger(input, 'diskSize');
  const instanceTypes = readStringList(input, 'instanceTypes');
  if (launchTemplate && diskSize !== undefined) {
    throw invalidParameter('Disk size must be specified within the launch template.', {
      clusterName,
      nodegroupName,
    });
  }
  const version = readString(input, 'version') ?? cluster.version ?? defaultKubernetesVersion;
  const amiType = readString(input, 'amiType') ?? defaultAmiType(version);
  const tags = readTags(input);
  const labels = readStringMap(input, 'labels') ?? {};
  const now = new Date();
  const nodegroup: Nodegroup = {
    nodegroupName,
    nodegroupArn: `arn:aws:eks:${location.region}:${location.accountId}:nodegroup/${clusterName}/${nodegroupName}/${randomUUID()}`,
    clusterName,
    version,
    releaseVersion: readString(input, 'releaseVersion') ?? `${version}.0-20250704`,
    createdAt: now,
    modifiedAt: now,
    status: 'CREATING',
    capacityType: (readString(input, 'capacityType') ?? 'ON_DEMAND') as never,
    scalingConfig: { minSize, maxSize, desiredSize },
    ...(launchTemplate ? {} : { instanceTypes: instanceTypes ?? ['t3.medium'] }),
    subnets,
    ...optional('remoteAccess', readObject(input, 'remoteAccess') as never),
    amiType: amiType as never,
    nodeRole,
    labels,
    ...optional('taints', readObjectList(input, 'taints') as never),
    resources: {},
    ...(launchTemplate ? {} : { diskSize: diskSize ?? 20 }),
    health: { issues: [] },
    updateConfig: (readObject(input, 'updateConfig') as never) ?? { maxUnavailable: 1 },
    ...optional('nodeRepairConfig', readObject(input, 'nodeRepairConfig') as never),
    ...optional('launchTemplate', launchTemplate as never),
    tags: tags ?? {},
    ...optional('warmPoolConfig', readObject(input, 'warmPoolConfig') as never),
  };
  return nodegroup;
}

/** AL2023 replaced AL2 as the default from Kubernetes 1.30; AL2 has no 1.33+ AMIs at all. */
const defaultAmiType = (version: string): string =>
  compareVersions(version, '1.30') >= 0 ? 'AL2023_x86_64_STANDARD' : 'AL2_x86_64';

const compareVersions = (a: string, b: string): number => {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
};

/** Health issues like EKS's own, for scripted failures that give none. */
const createFailureIssues = (nodegroup: Nodegroup): Issue[] => [
  {
    code: 'Ec2SubnetInvalidConfiguration',
    message: `One or more Amazon EC2 Subnets of [${(nodegroup.subnets ?? []).join(', ')}] for node group ${nodegroup.nodegroupName} does not automatically assign public IP addresses to instances launched into it. If you want your instances to be assigned a public IP address, then you need to enable auto-assign public IP address for the subnet.`,
    resourceIds: [...(nodegroup.subnets ?? [])],
  },
];

const deleteFailureIssues = (nodegroup: Nodegroup): Issue[] => [
  {
    code: 'Ec2SecurityGroupDeletionFailure',
    message: 'DependencyViolation - resource has a dependent object',
    resourceIds: [nodegroup.resources?.remoteAccessSecurityGroup ?? makeShortId('sg')],
  },
];
