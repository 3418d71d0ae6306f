/**
 * Building EKS resources from create requests: the members a caller gave, echoed, plus the
 * defaults EKS fills in. Shapes are the SDK's own model types so a missing or misspelt member is a
 * compile error, not a silent difference from EKS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type {
  Cluster,
  ClusterIssue,
  FargateProfile,
  FargateProfileIssue,
  Issue,
  Nodegroup,
} from '@aws-sdk/client-eks';
import { invalidParameter } from './errors.ts';
import {
  checkResourceName,
  checkTags,
  type JsonObject,
  readBoolean,
  readInteger,
  readObject,
  readObjectList,
  readRequiredString,
  readString,
  readStringList,
  readStringMap,
} from './input.ts';

/** Where resources live: ARNs and OIDC issuers are built from these. */
export interface EksLocation {
  region: string;
  accountId: string;
}

/** The Kubernetes version a cluster gets when the request names none. */
export const defaultKubernetesVersion = '1.33';

/** Versions EKS accepts for a new cluster (standard and extended support). */
export const supportedKubernetesVersions: readonly string[] = [
  '1.28',
  '1.29',
  '1.30',
  '1.31',
  '1.32',
  '1.33',
  '1.34',
];

const allControlPlaneLogTypes = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];

/** Uppercase hex as EKS uses in endpoints and OIDC issuer ids (32 characters). */
export const makeClusterHexId = (): string => randomBytes(16).toString('hex').toUpperCase();

const makeShortId = (prefix: string): string =>
  `${prefix}-${randomBytes(8).toString('hex').slice(0, 17)}`;

/** A cluster in `CREATING`: no endpoint and no CA data yet, as EKS shows it. */
export function buildCluster(input: JsonObject, location: EksLocation, hexId: string): Cluster {
  const name = readRequiredString(input, 'name');
  checkResourceName('Cluster', name, 100);
  const roleArn = readRequiredString(input, 'roleArn');
  const vpc = readObject(input, 'resourcesVpcConfig');
  if (!vpc) throw invalidParameter('resourcesVpcConfig is required.');
  const subnetIds = readStringList(vpc, 'subnetIds') ?? [];
  const version = readString(input, 'version') ?? defaultKubernetesVersion;
  if (!supportedKubernetesVersions.includes(version)) {
    throw invalidParameter(`unsupported Kubernetes version ${version}`, { clusterName: name });
  }
  const tags = readStringMap(input, 'tags');
  checkTags(tags);
  const network = readObject(input, 'kubernetesNetworkConfig') ?? {};
  const ipFamily = readString(network, 'ipFamily') ?? 'ipv4';
  const access = readObject(input, 'accessConfig') ?? {};
  const upgrade = readObject(input, 'upgradePolicy') ?? {};
  const requestToken = readString(input, 'clientRequestToken');

  const cluster: Cluster = {
    name,
    arn: `arn:aws:eks:${location.region}:${location.accountId}:cluster/${name}`,
    createdAt: new Date(),
    version,
    roleArn,
    resourcesVpcConfig: {
      subnetIds,
      securityGroupIds: readStringList(vpc, 'securityGroupIds') ?? [],
      clusterSecurityGroupId: makeShortId('sg'),
      vpcId: makeShortId('vpc'),
      endpointPublicAccess: readBoolean(vpc, 'endpointPublicAccess') ?? true,
      endpointPrivateAccess: readBoolean(vpc, 'endpointPrivateAccess') ?? false,
      publicAccessCidrs: readStringList(vpc, 'publicAccessCidrs') ?? ['0.0.0.0/0'],
      ...optional('controlPlaneEgressMode', readString(vpc, 'controlPlaneEgressMode') as never),
    },
    kubernetesNetworkConfig: {
      ...(ipFamily === 'ipv6'
        ? { serviceIpv6Cidr: 'fd00:ec2::/108' }
        : { serviceIpv4Cidr: readString(network, 'serviceIpv4Cidr') ?? '10.100.0.0/16' }),
      ipFamily: ipFamily as 'ipv4' | 'ipv6',
      elasticLoadBalancing: (readObject(network, 'elasticLoadBalancing') as never) ?? {
        enabled: false,
      },
    },
    logging: (readObject(input, 'logging') as never) ?? {
      clusterLogging: [{ types: allControlPlaneLogTypes as never, enabled: false }],
    },
    identity: {
      oidc: { issuer: `https://oidc.eks.${location.region}.amazonaws.com/id/${hexId}` },
    },
    status: 'CREATING',
    certificateAuthority: {},
    ...optional('clientRequestToken', requestToken),
    platformVersion: 'eks.1',
    tags: tags ?? {},
    ...optional('encryptionConfig', readObjectList(input, 'encryptionConfig') as never),
    health: { issues: [] },
    ...optional('outpostConfig', readObject(input, 'outpostConfig') as never),
    accessConfig: {
      bootstrapClusterCreatorAdminPermissions:
        readBoolean(access, 'bootstrapClusterCreatorAdminPermissions') ?? true,
      // EKS's documented default when the cluster is created through the API rather than the console.
      authenticationMode: (readString(access, 'authenticationMode') ?? 'CONFIG_MAP') as never,
    },
    upgradePolicy: { supportType: (readString(upgrade, 'supportType') ?? 'EXTENDED') as never },
    ...optional('zonalShiftConfig', readObject(input, 'zonalShiftConfig') as never),
    ...optional('remoteNetworkConfig', readObject(input, 'remoteNetworkConfig') as never),
    ...optional('computeConfig', readObject(input, 'computeConfig') as never),
    ...optional('storageConfig', readObject(input, 'storageConfig') as never),
    deletionProtection: readBoolean(input, 'deletionProtection') ?? false,
    ...optional(
      'controlPlaneScalingConfig',
      readObject(input, 'controlPlaneScalingConfig') as never,
    ),
    ...optional('kubeApiServerConfig', readObject(input, 'kubeApiServerConfig') as never),
    ...optional('kubeSchedulerConfig', readObject(input, 'kubeSchedulerConfig') as never),
    ...optional(
      'kubeControllerManagerConfig',
      readObject(input, 'kubeControllerManagerConfig') as never,
    ),
  };
  return cluster;
}

/** A node group in `CREATING`, on `cluster` (which must be ACTIVE; the caller checks). */
export function buildNodegroup(
  input: JsonObject,
  cluster: Cluster,
  location: EksLocation,
): Nodegroup {
  const clusterName = cluster.name ?? '';
  const nodegroupName = readRequiredString(input, 'nodegroupName');
  checkResourceName('Nodegroup', nodegroupName, 63);
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
  const tags = readStringMap(input, 'tags');
  checkTags(tags);
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

/** A Fargate profile in `CREATING`. */
export function buildFargateProfile(
  input: JsonObject,
  cluster: Cluster,
  location: EksLocation,
): FargateProfile {
  const clusterName = cluster.name ?? '';
  const fargateProfileName = readRequiredString(input, 'fargateProfileName');
  checkResourceName('Fargate profile', fargateProfileName, 63);
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
  const tags = readStringMap(input, 'tags');
  checkTags(tags);
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
export const defaultIssues = {
  clusterCreate: (cluster: Cluster): ClusterIssue[] => {
    const subnet = cluster.resourcesVpcConfig?.subnetIds?.[0];
    return subnet
      ? [
          {
            code: 'Ec2SubnetNotFound',
            message: `The subnet ID '${subnet}' does not exist`,
            resourceIds: [subnet],
          },
        ]
      : [{ code: 'InternalFailure', message: 'Cluster creation failed.', resourceIds: [] }];
  },
  clusterDelete: (cluster: Cluster): ClusterIssue[] => [
    {
      code: 'Ec2SecurityGroupNotFound',
      message: 'Cluster deletion failed: DependencyViolation - resource has a dependent object',
      resourceIds: [cluster.resourcesVpcConfig?.clusterSecurityGroupId ?? ''],
    },
  ],
  nodegroupCreate: (nodegroup: Nodegroup): Issue[] => [
    {
      code: 'Ec2SubnetInvalidConfiguration',
      message: `One or more Amazon EC2 Subnets of [${(nodegroup.subnets ?? []).join(', ')}] for node group ${nodegroup.nodegroupName} does not automatically assign public IP addresses to instances launched into it. If you want your instances to be assigned a public IP address, then you need to enable auto-assign public IP address for the subnet.`,
      resourceIds: [...(nodegroup.subnets ?? [])],
    },
  ],
  nodegroupDelete: (nodegroup: Nodegroup): Issue[] => [
    {
      code: 'Ec2SecurityGroupDeletionFailure',
      message: 'DependencyViolation - resource has a dependent object',
      resourceIds: [nodegroup.resources?.remoteAccessSecurityGroup ?? makeShortId('sg')],
    },
  ],
  fargateProfileCreate: (profile: FargateProfile): FargateProfileIssue[] => [
    {
      code: 'AccessDenied',
      message: `Unable to assume the pod execution role ${profile.podExecutionRoleArn}. Check its trust policy.`,
      resourceIds: [profile.podExecutionRoleArn ?? ''],
    },
  ],
  fargateProfileDelete: (_profile: FargateProfile): FargateProfileIssue[] => [
    {
      code: 'InternalFailure',
      message: 'Fargate profile deletion failed.',
      resourceIds: [],
    },
  ],
} as const;

/** `{ [key]: value }` when value is defined, else `{}`: EKS omits members nobody set. */
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
