/**
 * Clusters as CreateCluster builds them (the members given, echoed, plus EKS's defaults), and the
 * health issues a scripted cluster failure shows.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, ClusterIssue } from '@aws-sdk/client-eks';
import { invalidParameter } from './errors.ts';
import {
  type JsonObject,
  readBoolean,
  readObject,
  readObjectList,
  readRequiredString,
  readResourceName,
  readString,
  readStringList,
  readTags,
} from './input.ts';
import { defaultKubernetesVersion, type EksLocation, makeShortId, optional } from './resources.ts';

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

/** A cluster in `CREATING`: no endpoint and no CA data yet, as EKS shows it. */
export function buildCluster(input: JsonObject, location: EksLocation, hexId: string): Cluster {
  const name = readResourceName(input, 'name', 'Cluster', 100);
  const roleArn = readRequiredString(input, 'roleArn');
  const vpc = readObject(input, 'resourcesVpcConfig');
  if (!vpc) throw invalidParameter('resourcesVpcConfig is required.');
  const subnetIds = readStringList(vpc, 'subnetIds') ?? [];
  const version = readString(input, 'version') ?? defaultKubernetesVersion;
  if (!supportedKubernetesVersions.includes(version)) {
    throw invalidParameter(`unsupported Kubernetes version ${version}`, { clusterName: name });
  }
  const tags = readTags(input);
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

/** Health issues like EKS's own, for scripted failures that give none. */
export const clusterCreateIssues = (cluster: Cluster): ClusterIssue[] => {
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
};

export const clusterDeleteIssues = (cluster: Cluster): ClusterIssue[] => [
  {
    code: 'Ec2SecurityGroupNotFound',
    message: 'Cluster deletion failed: DependencyViolation - resource has a dependent object',
    resourceIds: [cluster.resourcesVpcConfig?.clusterSecurityGroupId ?? ''],
  },
];

/**
 * Without a provisioning hook there is no real API server, so the CA is a placeholder shaped like
 * EKS's (base64 of a PEM block); nothing can connect to the fake endpoint anyway.
 */
export const makePlaceholderCaData = (): string => {
  const body = randomBytes(96).toString('base64');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
  return Buffer.from(pem).toString('base64');
};
