/**
 * `eks:createCluster`, `eks:deleteCluster`, `eks:createNodegroup`, `eks:deleteNodegroup`,
 * `eks:createFargateProfile` and `eks:deleteFargateProfile`, each with and without `.sync`
 * (contract §3): PascalCase EKS request in, PascalCase response out (`{"Cluster": {...}}`).
 *
 * A stopped wait never deletes anything. When a `.sync` wait is abandoned (a heartbeat answered
 * `TaskTimedOut`: the execution was stopped or timed out) or the worker shuts down, the wait just
 * ends with the signal's `TaskAbortedError`; a cluster, node group or Fargate profile that is still
 * being created is left as EKS has it, and a delete already requested carries on inside EKS.
 * Why: deleting infrastructure as a side effect of a stopped execution is dangerous (a cluster
 * may be minutes from `ACTIVE` and already in use, or the stop may be an operator's mistake), and
 * unlike a Kubernetes Job, an EKS resource is not owned by one task. A state machine that wants the
 * clean-up says so explicitly: `Catch` the failure (e.g. `States.Timeout`, `EKS.ClusterFailed`) and
 * call `eks:deleteCluster` in a following state. This holds even when the worker is configured to
 * clean up abandoned tasks (that setting deletes Kubernetes Jobs, which a task does own).
 */
import type { EksControlPlane } from '../../aws/eks-control-plane.ts';
import { EksServiceError } from '../../aws/eks-control-plane.ts';
import {
  eksExceptionErrorName,
  type InputProblem,
  InvalidParametersError,
  TaskFailedError,
} from '../../errors.ts';
import type { Checkpoint, Integration, TaskContext } from '../types.ts';
import { findTooDeepValue } from '../validation/input-depth.ts';
import { findConstraintProblems } from './member-constraints.ts';
import { toPascalCase, toSdkShape, toStepFunctionsShape } from './member-shapes.ts';
import { type EksOperation, eksOperations } from './operations.ts';
import { waitForTerminalStatus } from './wait-for-status.ts';

export type {
  CreateClusterInput,
  CreateFargateProfileInput,
  CreateNodegroupInput,
  DeleteClusterInput,
  DeleteFargateProfileInput,
  DeleteNodegroupInput,
} from './operations.ts';

/** What the EKS control-plane integrations need. */
export interface EksControlPlaneDeps {
  /** The EKS port; in production `makeEksControlPlane(makeEksClient(...))`. */
  eks: EksControlPlane;
  /**
   * How often a `.sync` wait describes the resource. Step Functions' native integration polls once
   * a minute; EKS's own waiters every 30 s. Describe calls are cheap and well inside EKS's rate
   * limits at this rate, and a workflow learns of `ACTIVE` within seconds.
   * @default 10000
   */
  pollIntervalMs?: number;
  /**
   * Consecutive throttled/5xx describe calls (each already retried by the SDK) a wait tolerates.
   * @default 5
   */
  maxConsecutivePollFailures?: number;
}

export const defaultPollIntervalMs = 10_000;
export const defaultMaxConsecutivePollFailures = 5;

/** The 12 integrations: `eks-<operation>` and `eks-<operation>-sync` for the six operations. */
export function makeEksControlPlaneIntegrations(deps: EksControlPlaneDeps): Integration[] {
  const settings = {
    eks: deps.eks,
    pollIntervalMs: deps.pollIntervalMs ?? defaultPollIntervalMs,
    maxConsecutivePollFailures:
      deps.maxConsecutivePollFailures ?? defaultMaxConsecutivePollFailures,
  };
  return eksOperations.flatMap((operation): Integration[] => [
    {
      activitySuffix: `eks-${operation.name}`,
      run: (input, context) => runOperation(operation, input, context, settings, false),
    },
    {
      activitySuffix: `eks-${operation.name}-sync`,
      run: (input, context) => runOperation(operation, input, context, settings, true),
      resume: (input, checkpoint, context) =>
        resumeOperation(operation, input, checkpoint, context, settings),
    },
  ]);
}

type Settings = Required<EksControlPlaneDeps>;

async function runOperation(
  operation: EksOperation,
  input: unknown,
  context: TaskContext,
  settings: Settings,
  sync: boolean,
): Promise<unknown> {
  const request = parseRequest(operation, input);
  const { family } = operation;
  const resourceName = family.nameOf(request as never);
  context.logger.info('EKS operation starting', {
    operation: operation.name,
    resource: family.label,
    name: resourceName,
    sync,
  });
  const response = await callEks(operation.name, () =>
    operation.call(settings.eks, request as never, context.signal),
  );
  const output = toStepFunctionsShape(operation.responseSchema, response);
  if (!sync) return output;
  // The call succeeded: a resumer must only wait, never call again (a second create fails with
  // ResourceInUseException, a second delete may hit a resource being recreated). The call's
  // output is kept because a delete that finishes unseen answers with it.
  context.checkpoint?.({ operation: operation.name, callOutput: output as Checkpoint[string] });
  return waitForOperation(operation, request, output, context, settings);
}

/** Continues a `.sync` task handed off after its create/delete call succeeded. */
async function resumeOperation(
  operation: EksOperation,
  input: unknown,
  checkpoint: Checkpoint,
  context: TaskContext,
  settings: Settings,
): Promise<unknown> {
  const request = parseRequest(operation, input);
  if (checkpoint.operation !== operation.name || !('callOutput' in checkpoint)) {
    throw new Error(`the checkpoint is not one of ${operation.name}`);
  }
  context.logger.info('EKS operation resumed', {
    operation: operation.name,
    resource: operation.family.label,
    name: operation.family.nameOf(request as never),
  });
  return waitForOperation(operation, request, checkpoint.callOutput, context, settings);
}

/** The `.sync` wait and its answer, shared by a first run and a resumed one. */
async function waitForOperation(
  operation: EksOperation,
  request: Record<string, unknown>,
  output: unknown,
  context: TaskContext,
  settings: Settings,
): Promise<unknown> {
  const { family } = operation;
  const resourceName = family.nameOf(request as never);
  const outcome = await callEks(`wait for ${operation.name}`, () =>
    waitForTerminalStatus({
      describe: (signal) => family.describe(settings.eks, request as never, signal),
      statusOf: family.statusOf,
      rule: operation.waitRule,
      pollIntervalMs: settings.pollIntervalMs,
      maxConsecutivePollFailures: settings.maxConsecutivePollFailures,
      signal: context.signal,
      ...(context.clock ? { clock: context.clock } : {}),
      logger: context.logger,
      resourceLabel: family.label,
      resourceName,
    }),
  );
  if (outcome.kind === 'gone') return output;
  const described = toStepFunctionsShape(family.describeResponseSchema, outcome.described);
  if (outcome.kind === 'reached') return described;
  context.logger.info('EKS resource reached a failed status', {
    operation: operation.name,
    resource: family.label,
    name: resourceName,
    status: outcome.status,
  });
  throw new TaskFailedError(
    family.failedErrorName,
    `${family.label} ${resourceName} reached status ${outcome.status}`,
    { failureCause: described },
  );
}

/** Validates and converts the task input; nothing is sent to EKS when anything is wrong. */
export function parseRequest(operation: EksOperation, input: unknown): Record<string, unknown> {
  // First, as the schema walk recurses: a document member could otherwise nest past the stack.
  const tooDeep = findTooDeepValue(input, '$');
  if (tooDeep !== undefined) throw new InvalidParametersError([tooDeep]);
  const { value, problems } = toSdkShape(operation.requestSchema, input);
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    problems.push(...findMissingMembers(operation, value));
    problems.push(...findConstraintProblems(input as Record<string, unknown>));
  }
  if (problems.length > 0) throw new InvalidParametersError(problems);
  return value;
}

function findMissingMembers(
  operation: EksOperation,
  request: Record<string, unknown>,
): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const member of operation.requiredMembers) {
    const path = `$.${toPascalCase(member)}`;
    const value = request[member];
    if (value === undefined) {
      // Only report a member as missing when it was absent, not when it had the wrong type.
      if (!(member in request)) problems.push({ path, message: 'is required' });
    } else if (value === '') {
      // EKS names end up in URL paths; an empty one would address a different resource.
      problems.push({ path, message: 'must not be empty' });
    }
  }
  return problems;
}

/** Turns an EKS exception into the task failure `EKS.<ExceptionName>` (contract §3). */
async function callEks<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof EksServiceError)) throw error;
    throw new TaskFailedError(
      eksExceptionErrorName(error.exceptionName),
      `EKS ${what} failed: ${error.exceptionName}: ${error.message}`,
      {
        cause: error,
        retryable: error.retryable,
        failureCause: {
          Message: error.message,
          StatusCode: error.statusCode,
          RequestId: error.requestId,
        },
      },
    );
  }
}
