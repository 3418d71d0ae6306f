import { EKSClient, type EKSClientConfig } from '@aws-sdk/client-eks';
import {
  type LocalIdentity,
  localIdentities,
  localRegion,
} from '../../../../infra/local-stack/identities.ts';

/** A real SDK client signing as `identity` (admin by default) against the local control plane. */
export const makeEksClient = (
  endpoint: string,
  identity: Pick<LocalIdentity, 'accessKeyId' | 'secretAccessKey'> = localIdentities.admin,
  config: EKSClientConfig = {},
): EKSClient =>
  new EKSClient({
    ...config,
    endpoint,
    region: localRegion,
    credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey },
  });

/** SDK waiter settings that poll every 50-100 ms and give up after 5 s, so a bug fails fast. */
export const fastWaiter = (client: EKSClient) =>
  ({ client, minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 5 }) as const;

export const clusterRoleArn = 'arn:aws:iam::123456789012:role/MyEKSClusterRole';
export const nodeRoleArn = 'arn:aws:iam::123456789012:role/MyNodeInstanceRole';
export const podExecutionRoleArn = 'arn:aws:iam::123456789012:role/MyFargatePodExecutionRole';
export const subnetIds = ['subnet-053e7c47012341234', 'subnet-027cfea4b12341234'];

/**
 * Asserts that an SDK waiter stopped on one of its failure acceptors (not a timeout): the SDK then
 * throws a plain Error whose message is the JSON of `{ state: 'FAILURE', reason }`.
 */
export async function assertWaiterFailed(waiting: Promise<unknown>): Promise<{ reason: unknown }> {
  try {
    await waiting;
  } catch (error) {
    const result = JSON.parse((error as Error).message) as { state: string; reason: unknown };
    if (result.state !== 'FAILURE') {
      throw new Error(`expected the waiter to fail, it ended ${result.state}`, { cause: error });
    }
    return result;
  }
  throw new Error('expected the waiter to fail, it succeeded');
}
