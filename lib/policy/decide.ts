/**
 * The decision for one task: the first rule whose `activities` match the task's activity decides,
 * and it must allow every part of the task (cluster, namespace, method and path, operation, each
 * passed role). Pure: no I/O, so it runs before anything is sent.
 */
import type { TaskAccess } from './access.ts';
import type { PolicyRule, WorkerPolicy } from './document.ts';
import { findMatch, type Pattern } from './patterns.ts';

export type Decision =
  | { readonly allowed: true; readonly rule: string }
  | {
      readonly allowed: false;
      /** The deciding rule; undefined when no rule names the activity. */
      readonly rule: string | undefined;
      /** The rule's field that does not allow the task (`clusters`, `namespaces`, ...). */
      readonly field: string;
      /** The task input field denied (`$.ClusterName`, `$.Path`, ...). */
      readonly taskField?: string;
      readonly value?: string;
      /** What the rule's field allows, as written. */
      readonly allowedValues?: readonly string[];
      readonly message: string;
    };

const texts = (patterns: readonly Pattern[]): string[] => patterns.map((p) => p.text);

const denied = (
  rule: PolicyRule,
  field: string,
  taskField: string,
  value: string,
  allowedValues: readonly string[],
  why: string,
): Decision => ({
  allowed: false,
  rule: rule.name,
  field,
  taskField,
  value,
  allowedValues,
  message: `Policy rule '${rule.name}' does not allow ${taskField} '${value}': ${why}`,
});

/** What `rule.field` allows, for messages: the patterns, or that the field is absent. */
const why = (field: string, allowed: readonly string[]): string =>
  allowed.length === 0
    ? `the rule sets no ${field}, so it allows none`
    : `${field} allows ${allowed.join(', ')}`;

const checkPatterns = (
  rule: PolicyRule,
  field: 'clusters' | 'namespaces' | 'passRoles',
  patterns: readonly Pattern[],
  taskField: string,
  value: string,
): Decision | undefined =>
  findMatch(patterns, value) === undefined
    ? denied(rule, field, taskField, value, texts(patterns), why(field, texts(patterns)))
    : undefined;

export const decide = (
  policy: WorkerPolicy,
  activityName: string,
  access: TaskAccess,
): Decision => {
  const rule = policy.rules.find((candidate) => findMatch(candidate.activities, activityName));
  if (rule === undefined) {
    return {
      allowed: false,
      rule: undefined,
      field: 'activities',
      value: activityName,
      message: `No policy rule names activity '${activityName}' (policy: ${policy.source}), so its tasks are denied`,
    };
  }
  const clusterField = access.kind === 'controlPlane' ? access.clusterField : '$.ClusterName';
  const denial =
    checkPatterns(rule, 'clusters', rule.clusters, clusterField, access.cluster) ??
    checkRest(rule, access);
  return denial ?? { allowed: true, rule: rule.name };
};

const checkRest = (rule: PolicyRule, access: TaskAccess): Decision | undefined => {
  switch (access.kind) {
    case 'runJob':
      return checkPatterns(rule, 'namespaces', rule.namespaces, '$.Namespace', access.namespace);
    case 'call':
      return checkCall(rule, access);
    case 'controlPlane': {
      if (!rule.operations.includes('*') && !rule.operations.includes(access.operation)) {
        return denied(
          rule,
          'operations',
          'operation',
          access.operation,
          rule.operations,
          why('operations', rule.operations),
        );
      }
      for (const role of access.passRoles) {
        const denial = checkPatterns(rule, 'passRoles', rule.passRoles, role.field, role.arn);
        if (denial) return denial;
      }
      return undefined;
    }
  }
};

const checkCall = (
  rule: PolicyRule,
  access: Extract<TaskAccess, { kind: 'call' }>,
): Decision | undefined => {
  const { kubePath } = access;
  if (!kubePath.ok) {
    return denied(rule, 'calls', '$.Path', access.path, [], kubePath.problem);
  }
  if (kubePath.namespace === undefined) {
    if (!rule.clusterScoped) {
      return denied(
        rule,
        'clusterScoped',
        '$.Path',
        access.path,
        [],
        'the path is outside any namespace (cluster-scoped), and the rule does not set clusterScoped: true',
      );
    }
  } else {
    const denial = checkPatterns(
      rule,
      'namespaces',
      rule.namespaces,
      '$.Path (namespace)',
      kubePath.namespace,
    );
    if (denial) return denial;
  }
  const allowed = rule.calls.some(
    (call) =>
      (call.methods.includes('*') || call.methods.includes(access.method)) &&
      findMatch(call.paths, kubePath.decodedPath) !== undefined,
  );
  if (allowed) return undefined;
  const described = rule.calls.map(
    (call) => `${call.methods.join('|')} ${texts(call.paths).join(', ')}`,
  );
  return denied(
    rule,
    'calls',
    '$.Method and $.Path',
    `${access.method} ${kubePath.decodedPath}`,
    described,
    why('calls', described),
  );
};
