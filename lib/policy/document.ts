/**
 * The policy document: which tasks the worker may act on, per activity or group of activities
 * (README "Security model"). Read from YAML or JSON once at start and validated with every problem
 * listed at once, like the rest of the configuration (lib/config.ts).
 *
 * ```yaml
 * rules:                                  # tried in order; the first whose `activities` match decides
 *   - name: batch-jobs
 *     activities: ["*-eks-runJob", "*-eks-runJob-sync"]
 *     clusters: [analytics-*]             # ClusterName (Name for createCluster/deleteCluster)
 *     namespaces: [batch]                 # runJob's namespace; eks:call's from its Path
 *   - name: read-pods
 *     activities: ["*-eks-call"]
 *     clusters: [analytics-*]
 *     namespaces: [batch]
 *     clusterScoped: false                # eks:call paths outside any namespace (default false)
 *     calls: [{ methods: [GET], paths: [/api/v1/namespaces/*\/pods, /api/v1/namespaces/*\/pods/*\/log] }]
 *   - name: node-groups
 *     activities: ["*-eks-createNodegroup*", "*-eks-deleteNodegroup*"]
 *     clusters: [analytics-*]
 *     operations: [createNodegroup, deleteNodegroup]
 *     passRoles: ["arn:aws:iam::111122223333:role/eks-node-*"]
 * ```
 *
 * An absent list allows nothing: a rule must name what it allows.
 */
import { parseDocument } from 'yaml';
import {
  checkPathPattern,
  compileNamePattern,
  compilePathPattern,
  type Pattern,
} from './patterns.ts';

/**
 * `eks:call` methods (as in kube-call/parse-input.ts, which a test keeps equal); repeated here so
 * the policy, which the configuration and the packaging step load, needs no Kubernetes client.
 */
export const policyCallMethods = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH'] as const;

/** The control-plane operations a rule can allow (the native `eks:<operation>` names). */
export const controlPlaneOperations = [
  'createCluster',
  'deleteCluster',
  'createNodegroup',
  'deleteNodegroup',
  'createFargateProfile',
  'deleteFargateProfile',
] as const;

export interface CallRule {
  /** HTTP methods, or `*` for all. */
  readonly methods: readonly string[];
  readonly paths: readonly Pattern[];
}

export interface PolicyRule {
  /** As written, or `rules[<index>]`; denial causes and decision logs name it. */
  readonly name: string;
  readonly activities: readonly Pattern[];
  readonly clusters: readonly Pattern[];
  readonly namespaces: readonly Pattern[];
  readonly clusterScoped: boolean;
  readonly calls: readonly CallRule[];
  /** Control-plane operation names, or `*` for all six. */
  readonly operations: readonly string[];
  readonly passRoles: readonly Pattern[];
}

export interface WorkerPolicy {
  /** Where it came from (`EKS_WORKER_POLICY_FILE=<path>`, `EKS_WORKER_POLICY`, `default`). */
  readonly source: string;
  readonly rules: readonly PolicyRule[];
}

/** Raised when a policy document is invalid; `problems` has one entry per problem. */
export class PolicyDocumentError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid policy:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PolicyDocumentError';
    this.problems = problems;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const ruleKeys = [
  'name',
  'activities',
  'clusters',
  'namespaces',
  'clusterScoped',
  'calls',
  'operations',
  'passRoles',
];

// arn:<partition>:iam::<account>:role/<path and name>, wildcards allowed in each part.
const roleArnPattern = /^arn:[^:]+:iam::[^:]*:role\/.+$/;

/** Validates a parsed document; throws {@link PolicyDocumentError} listing every problem. */
export const parsePolicyDocument = (document: unknown, source: string): WorkerPolicy => {
  const problems: string[] = [];
  const problem = (path: string, message: string) => problems.push(`${path}: ${message}`);
  if (!isRecord(document)) {
    throw new PolicyDocumentError(['the policy must be an object with a `rules` list']);
  }
  for (const key of Object.keys(document)) {
    if (key !== 'rules' && key !== 'version') problem(key, 'unknown key (expected rules)');
  }
  if (document.version !== undefined && document.version !== 1) problem('version', 'must be 1');
  const rawRules = document.rules;
  if (!Array.isArray(rawRules)) {
    problem('rules', 'is required and must be a list');
    throw new PolicyDocumentError(problems);
  }

  /** A list of non-empty strings, or [] when absent; problems recorded under `path`. */
  const readStrings = (value: unknown, path: string, required: boolean): string[] => {
    if (value === undefined) {
      if (required) problem(path, 'is required');
      return [];
    }
    if (!Array.isArray(value)) {
      problem(path, 'must be a list of strings');
      return [];
    }
    if (required && value.length === 0) problem(path, 'must not be empty');
    const strings: string[] = [];
    value.forEach((item, index) => {
      if (typeof item !== 'string' || item === '') {
        problem(`${path}[${index}]`, 'must be a non-empty string');
      } else strings.push(item);
    });
    return strings;
  };

  const names = new Set<string>();
  const rules = rawRules.map((raw, index): PolicyRule | undefined => {
    const at = `rules[${index}]`;
    if (!isRecord(raw)) {
      problem(at, 'must be an object');
      return undefined;
    }
    let name = at;
    if (raw.name !== undefined) {
      if (typeof raw.name !== 'string' || raw.name === '') {
        problem(`${at}.name`, 'must be a non-empty string');
      } else if (names.has(raw.name)) {
        problem(`${at}.name`, `'${raw.name}' is already the name of an earlier rule`);
      } else {
        name = raw.name;
        names.add(raw.name);
      }
    }
    for (const key of Object.keys(raw)) {
      if (!ruleKeys.includes(key)) {
        problem(`${at}.${key}`, `unknown key (expected one of ${ruleKeys.join(', ')})`);
      }
    }
    const activities = readStrings(raw.activities, `${at}.activities`, true);
    const clusters = readStrings(raw.clusters, `${at}.clusters`, false);
    const namespaces = readStrings(raw.namespaces, `${at}.namespaces`, false);
    if (raw.clusterScoped !== undefined && typeof raw.clusterScoped !== 'boolean') {
      problem(`${at}.clusterScoped`, 'must be true or false');
    }
    const operations = readStrings(raw.operations, `${at}.operations`, false);
    operations.forEach((operation, i) => {
      if (operation !== '*' && !(controlPlaneOperations as readonly string[]).includes(operation)) {
        problem(
          `${at}.operations[${i}]`,
          `'${operation}' is not one of ${controlPlaneOperations.join(', ')}, *`,
        );
      }
    });
    const passRoles = readStrings(raw.passRoles, `${at}.passRoles`, false);
    passRoles.forEach((arn, i) => {
      if (!roleArnPattern.test(arn)) {
        problem(
          `${at}.passRoles[${i}]`,
          `'${arn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>; * and ? allowed)`,
        );
      }
    });
    const calls = readCalls(raw.calls, `${at}.calls`, problem, readStrings);
    return {
      name,
      activities: activities.map(compileNamePattern),
      clusters: clusters.map(compileNamePattern),
      namespaces: namespaces.map(compileNamePattern),
      clusterScoped: raw.clusterScoped === true,
      calls,
      operations,
      passRoles: passRoles.map(compileNamePattern),
    };
  });
  if (problems.length > 0) throw new PolicyDocumentError(problems);
  return { source, rules: rules as PolicyRule[] };
};

const readCalls = (
  value: unknown,
  path: string,
  problem: (path: string, message: string) => void,
  readStrings: (value: unknown, path: string, required: boolean) => string[],
): CallRule[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problem(path, 'must be a list of { methods, paths }');
    return [];
  }
  const calls: CallRule[] = [];
  value.forEach((raw, index) => {
    const at = `${path}[${index}]`;
    if (!isRecord(raw)) {
      problem(at, 'must be an object with methods and paths');
      return;
    }
    for (const key of Object.keys(raw)) {
      if (key !== 'methods' && key !== 'paths') problem(`${at}.${key}`, 'unknown key');
    }
    const methods = readStrings(raw.methods, `${at}.methods`, true);
    methods.forEach((method, i) => {
      if (method !== '*' && !(policyCallMethods as readonly string[]).includes(method)) {
        problem(
          `${at}.methods[${i}]`,
          `'${method}' is not one of ${policyCallMethods.join(', ')}, *`,
        );
      }
    });
    const paths = readStrings(raw.paths, `${at}.paths`, true);
    const patterns: Pattern[] = [];
    paths.forEach((text, i) => {
      const pathProblem = checkPathPattern(text);
      if (pathProblem === undefined) patterns.push(compilePathPattern(text));
      else problem(`${at}.paths[${i}]`, `'${text}' ${pathProblem}`);
    });
    calls.push({ methods, paths: patterns });
  });
  return calls;
};

/** Parses YAML or JSON text (JSON is YAML) into a validated policy. */
export const parsePolicyText = (text: string, source: string): WorkerPolicy => {
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new PolicyDocumentError(
      document.errors.map((error) => `not valid YAML or JSON: ${error.message}`),
    );
  }
  return parsePolicyDocument(document.toJS(), source);
};

/**
 * The policy when none is configured: `eks:runJob` and `eks:runJob.sync` on any cluster and
 * namespace (the cluster's RBAC for the worker's identity is then the boundary), and nothing
 * else. `eks:call` reaches any path the identity may call, and the control-plane operations act
 * with IAM permissions the cluster's owners never granted, so both stay off until a policy names
 * what they may do.
 */
export const defaultPolicy: WorkerPolicy = parsePolicyDocument(
  {
    rules: [
      {
        name: 'default (no policy configured): runJob only',
        activities: ['*eks-runJob', '*eks-runJob-sync'],
        clusters: ['*'],
        namespaces: ['*'],
      },
    ],
  },
  'default',
);
