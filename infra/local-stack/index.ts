/**
 * The whole local stack in one call: Step Functions, the EKS control plane and a Kubernetes
 * cluster, on 127.0.0.1, wired together the way AWS is. `DescribeCluster` for the local cluster
 * answers the API server's real endpoint and CA, and a cluster created through `CreateCluster`
 * gets a real API server of its own once it turns ACTIVE, so a workflow can create a cluster and
 * run a Job on it.
 */
import { type EksControlPlane, type EksTimings, startEksControlPlane } from './eks/server.ts';
import { localAccountId, localIdentities, localRegion } from './identities.ts';
import {
  type LocalKubeCluster,
  type LocalKubeClusterOptions,
  startLocalKubeCluster,
} from './kube/cluster.ts';
import {
  type LocalStepFunctions,
  type StepFunctionsOptions,
  startStepFunctions,
} from './sfn/server.ts';
import { type LocalSqs, startSqs } from './sqs/server.ts';

export interface LocalStackOptions {
  /** The cluster that exists from the start. @default 'local-cluster' */
  clusterName?: string;
  /** Ports; 0 picks free ones (tests). @default 0 for each */
  ports?: { sfn?: number; eks?: number; kube?: number; sqs?: number };
  /** Options for every Kubernetes cluster of the stack (execution mode, pod timings, ...). */
  kube?: Omit<LocalKubeClusterOptions, 'clusterName' | 'port'>;
  /** Status durations of the EKS control plane. */
  eksTimings?: Partial<EksTimings>;
  /** Options of the Step Functions service (long-poll hold, throttling, ...). */
  sfn?: Omit<StepFunctionsOptions, 'port'>;
}

export interface LocalStack {
  region: string;
  accountId: string;
  /** The admin identity: cluster-admin in every local cluster. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  sfn: LocalStepFunctions;
  eks: EksControlPlane;
  /** SQS, for the hand-off queue of the Lambda functions and of a stopping process. */
  sqs: LocalSqs;
  /** The cluster that exists from the start. */
  cluster: LocalKubeCluster;
  /** Every running cluster by name, including those created through `CreateCluster`. */
  clusters: ReadonlyMap<string, LocalKubeCluster>;
  /** `arn:aws:states:<region>:<account>:activity:<name>` */
  activityArn(name: string): string;
  /**
   * The environment that points the AWS SDK, the AWS CLI and the worker at this stack
   * (`AWS_ENDPOINT_URL_SFN`, `_EKS`, `_SQS`, region and the admin's keys).
   */
  awsEnvironment(): Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const clusterName = options.clusterName ?? 'local-cluster';
  const clusters = new Map<string, LocalKubeCluster>();
  const startCluster = async (name: string, port = 0) => {
    const cluster = await startLocalKubeCluster({ ...options.kube, clusterName: name, port });
    clusters.set(name, cluster);
    return cluster;
  };

  const cluster = await startCluster(clusterName, options.ports?.kube);
  const eks = await startEksControlPlane({
    region: localRegion,
    port: options.ports?.eks ?? 0,
    timings: options.eksTimings ?? {},
    clusters: [
      {
        name: clusterName,
        endpoint: cluster.endpoint,
        certificateAuthorityData: cluster.caData,
        close: async () => {
          clusters.delete(clusterName);
          await cluster.close();
        },
      },
    ],
    provisionCluster: async (name) => {
      const created = await startCluster(name);
      return {
        endpoint: created.endpoint,
        certificateAuthorityData: created.caData,
        close: async () => {
          clusters.delete(name);
          await created.close();
        },
      };
    },
  });
  const sfn = await startStepFunctions({ ...options.sfn, port: options.ports?.sfn ?? 0 });
  const sqs = await startSqs({
    port: options.ports?.sqs ?? 0,
    region: localRegion,
    accountId: localAccountId,
  });
  const { accessKeyId, secretAccessKey } = localIdentities.admin;

  return {
    region: localRegion,
    accountId: localAccountId,
    credentials: { accessKeyId, secretAccessKey },
    sfn,
    eks,
    sqs,
    cluster,
    clusters,
    activityArn: (name) => `arn:aws:states:${localRegion}:${localAccountId}:activity:${name}`,
    awsEnvironment: () => ({
      AWS_REGION: localRegion,
      AWS_DEFAULT_REGION: localRegion,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
      AWS_ENDPOINT_URL_EKS: eks.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    }),
    close: async () => {
      // Step Functions first, so no held poll outlives the clusters a worker would call.
      await sfn.close();
      await sqs.close();
      await eks.close();
      await Promise.all([...clusters.values()].map((c) => c.close()));
      clusters.clear();
    },
  };
}
