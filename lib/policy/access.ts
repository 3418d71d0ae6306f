/**
 * What a task would do, read from its input by the integration's own parser (so the policy judges
 * exactly the values the integration will send, never a second reading of the raw input). An
 * invalid input throws the integration's `EKS.InvalidParameters`, as running it would.
 */

import { parseRequest } from '../integrations/eks-control-plane/index.ts';
import { eksOperations } from '../integrations/eks-control-plane/operations.ts';
import { parseKubeCallInput } from '../integrations/kube-call/parse-input.ts';
import { parseRunJobInput } from '../integrations/kube-job/parse-input.ts';
import { type KubePath, readKubePath } from './kube-path.ts';

/** A role ARN a control-plane request passes to EKS, with the input field it came from. */
export interface PassedRole {
  readonly field: string;
  readonly arn: string;
}

export type TaskAccess =
  | {
      readonly kind: 'runJob';
      readonly cluster: string;
      readonly namespace: string;
    }
  | {
      readonly kind: 'call';
      readonly cluster: string;
      readonly method: string;
      /** As given; the policy matches `kubePath.decodedPath`. */
      readonly path: string;
      readonly kubePath: KubePath;
    }
  | {
      readonly kind: 'controlPlane';
      readonly operation: string;
      readonly cluster: string;
      /** `$.Name` (cluster operations) or `$.ClusterName`. */
      readonly clusterField: string;
      readonly passRoles: readonly PassedRole[];
    };

const stringAt = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** The roles a control-plane request hands to EKS (each is authorized as iam:PassRole). */
const passedRoles = (request: Record<string, unknown>): PassedRole[] => {
  const computeConfig = request.computeConfig as Record<string, unknown> | undefined;
  const candidates: [string, unknown][] = [
    ['$.RoleArn', request.roleArn],
    ['$.ComputeConfig.NodeRoleArn', computeConfig?.nodeRoleArn],
    ['$.NodeRole', request.nodeRole],
    ['$.PodExecutionRoleArn', request.podExecutionRoleArn],
  ];
  return candidates.flatMap(([field, arn]) => (typeof arn === 'string' ? [{ field, arn }] : []));
};

/**
 * The access of a task of the integration with `activitySuffix`, or undefined for an integration
 * the policy does not know (which it then denies: a new integration must be described here first).
 */
export const describeTaskAccess = (
  activitySuffix: string,
  input: unknown,
): TaskAccess | undefined => {
  if (activitySuffix === 'eks-runJob' || activitySuffix === 'eks-runJob-sync') {
    const parsed = parseRunJobInput(input, activitySuffix === 'eks-runJob-sync');
    return {
      kind: 'runJob',
      cluster: parsed.cluster.clusterName,
      namespace: parsed.namespace,
    };
  }
  if (activitySuffix === 'eks-call') {
    const call = parseKubeCallInput(input);
    return {
      kind: 'call',
      cluster: call.cluster.clusterName,
      method: call.method,
      path: call.path,
      kubePath: readKubePath(call.path),
    };
  }
  const operationName = activitySuffix.replace(/^eks-/, '').replace(/-sync$/, '');
  const operation = eksOperations.find((candidate) => candidate.name === operationName);
  if (operation === undefined) return undefined;
  const request = parseRequest(operation, input);
  const clusterOperation = operation.family.label === 'Cluster';
  return {
    kind: 'controlPlane',
    operation: operation.name,
    cluster: stringAt(clusterOperation ? request.name : request.clusterName) ?? '',
    clusterField: clusterOperation ? '$.Name' : '$.ClusterName',
    passRoles: passedRoles(request),
  };
};
