/**
 * Enforces the policy around every integration: before `run` or `resume` does anything (the EKS
 * `DescribeCluster` look-up of an endpoint included), the task's access is read with the
 * integration's own parser and decided; a denied task fails with `EKS.PolicyDenied` and nothing is
 * sent anywhere. Every decision is logged (activity, cluster, namespace, verb, rule): the audit
 * trail of what the worker was asked to do and what it allowed. Never the token or the body.
 */
import { ErrorName, TaskFailedError } from '../errors.ts';
import type { Checkpoint, Integration, TaskContext } from '../integrations/types.ts';
import { describeTaskAccess, type TaskAccess } from './access.ts';
import { type Decision, decide } from './decide.ts';
import type { WorkerPolicy } from './document.ts';

/** `EKS.PolicyDenied`: the cause names the rule, its field, the task field and value denied. */
export class PolicyDeniedError extends TaskFailedError {
  readonly decision: Extract<Decision, { allowed: false }>;
  constructor(decision: Extract<Decision, { allowed: false }>, policySource: string) {
    super(ErrorName.PolicyDenied, decision.message, {
      failureCause: {
        Message: decision.message,
        Rule: decision.rule ?? null,
        Field: decision.field,
        ...(decision.taskField === undefined ? {} : { TaskField: decision.taskField }),
        ...(decision.value === undefined ? {} : { Value: decision.value }),
        ...(decision.allowedValues === undefined ? {} : { Allowed: decision.allowedValues }),
        Policy: policySource,
      },
    });
    this.name = 'PolicyDeniedError';
    this.decision = decision;
  }
}

/**
 * The audit fields of a task: who asked for what, never a secret or a body. A task outside any
 * namespace (cluster-scoped paths, control-plane operations) has no `namespace` field.
 */
const auditFields = (access: TaskAccess): Record<string, unknown> => {
  switch (access.kind) {
    case 'runJob':
      return { cluster: access.cluster, namespace: access.namespace, verb: 'createJob' };
    case 'call':
      return {
        cluster: access.cluster,
        ...(access.kubePath.ok && access.kubePath.namespace !== undefined
          ? { namespace: access.kubePath.namespace }
          : {}),
        verb: access.method,
        path: access.path,
      };
    case 'controlPlane':
      return {
        cluster: access.cluster,
        verb: access.operation,
        ...(access.passRoles.length === 0
          ? {}
          : { passRoles: access.passRoles.map((role) => role.arn) }),
      };
  }
};

const authorize = (
  policy: WorkerPolicy,
  activitySuffix: string,
  input: unknown,
  context: TaskContext,
): void => {
  // Throws EKS.InvalidParameters for an invalid input, exactly as the integration would.
  const access = describeTaskAccess(activitySuffix, input);
  const decision: Decision =
    access === undefined
      ? {
          allowed: false,
          rule: undefined,
          field: 'activities',
          value: context.activityName,
          message: `The policy cannot judge tasks of ${activitySuffix}, so they are denied`,
        }
      : decide(policy, context.activityName, access);
  const fields = {
    activity: context.activityName,
    ...(access === undefined ? {} : auditFields(access)),
    decision: decision.allowed ? 'allow' : 'deny',
    ...(decision.rule === undefined ? {} : { rule: decision.rule }),
    ...(decision.allowed ? {} : { deniedBy: decision.field }),
    policy: policy.source,
  };
  if (decision.allowed) {
    context.logger.info('Policy decision', fields);
    return;
  }
  context.logger.warn('Policy decision', fields);
  throw new PolicyDeniedError(decision, policy.source);
};

/**
 * The integration with the policy checked before each `run` and `resume`: a decorator, so every
 * other field (`activitySuffix`, `outputTooLargeAdvice`, any added later) is the integration's own,
 * copied by the spread rather than listed here, where a new one would be silently dropped.
 * `resume` is present only when the integration has one (its absence means "re-run from start").
 */
export const guardIntegration = (integration: Integration, policy: WorkerPolicy): Integration => {
  const { activitySuffix, resume } = integration;
  return {
    ...integration,
    run: async (input, context) => {
      authorize(policy, activitySuffix, input, context);
      return integration.run(input, context);
    },
    ...(resume === undefined
      ? {}
      : {
          // A resumed task is decided again: a policy tightened since it started stops it here.
          resume: async (input: unknown, checkpoint: Checkpoint, context: TaskContext) => {
            authorize(policy, activitySuffix, input, context);
            return resume.call(integration, input, checkpoint, context);
          },
        }),
  };
};

/**
 * Says at start which policy is in force and which served activities no rule names (their tasks
 * will all be denied), so a gap shows in the first lines of the log rather than in a failed task.
 */
export const logPolicyInForce = (
  policy: WorkerPolicy,
  activityNames: readonly string[],
  logger: Pick<TaskContext['logger'], 'info' | 'warn'>,
): void => {
  const unnamed = activityNames.filter(
    (name) => !policy.rules.some((rule) => rule.activities.some((p) => p.regex.test(name))),
  );
  logger.info('Policy in force', {
    policy: policy.source,
    rules: policy.rules.map((rule) => rule.name),
  });
  if (policy.source === 'default') {
    logger.warn(
      'No policy configured: only eks:runJob(.sync) tasks are allowed; set EKS_WORKER_POLICY_FILE or EKS_WORKER_POLICY (README: Security model)',
    );
  }
  if (unnamed.length > 0) {
    logger.warn('No policy rule names these activities; their tasks will be denied', {
      activities: unnamed,
    });
  }
};
