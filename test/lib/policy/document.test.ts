/** Reading a policy: every problem listed at once, from a file or inline, as lib/config.ts does. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import { eksOperations } from '../../../lib/integrations/eks-control-plane/operations.ts';
import { kubeCallMethods } from '../../../lib/integrations/kube-call/parse-input.ts';
import {
  controlPlaneOperations,
  defaultPolicy,
  type PolicyDocumentError,
  parsePolicyText,
  policyCallMethods,
} from '../../../lib/policy/document.ts';
import { compileNamePattern, compilePathPattern } from '../../../lib/policy/patterns.ts';

const base = {
  AWS_REGION: 'us-east-1',
  EKS_WORKER_ACTIVITY_ARNS: 'arn:aws:states:us-east-1:111122223333:activity:prod-eks-call',
};

const writePolicy = (text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'policy-')), 'policy.yaml');
  writeFileSync(path, text);
  return path;
};

/** A policy with one problem of every kind the parser checks. */
const broken = `
version: 2
rulez: []
rules:
  - name: jobs
    activities: []
    clusters: [analytics, ""]
    namespace: [batch]
  - name: jobs
    activities: ["*-eks-call"]
    clusterScoped: "yes"
    calls:
      - methods: [GET, FETCH]
        paths: [api/v1/pods, "/api/**x/pods"]
        verbs: [get]
  - activities: ["*-eks-createCluster"]
    operations: [createCluster, rebootCluster]
    passRoles: [MyRole]
  - just a string
`;

const expectedProblems = [
  'rulez: unknown key (expected rules)',
  'version: must be 1',
  'rules[0].activities: must not be empty',
  'rules[0].clusters[1]: must be a non-empty string',
  'rules[0].namespace: unknown key',
  "rules[1].name: 'jobs' is already the name of an earlier rule",
  'rules[1].clusterScoped: must be true or false',
  'rules[1].calls[0].verbs: unknown key',
  "rules[1].calls[0].methods[1]: 'FETCH' is not one of GET, POST, PUT, DELETE, HEAD, PATCH, *",
  "rules[1].calls[0].paths[0]: 'api/v1/pods' must start with /",
  "rules[1].calls[0].paths[1]: '/api/**x/pods' ** must be a whole segment",
  "rules[2].operations[1]: 'rebootCluster' is not one of createCluster",
  "rules[2].passRoles[0]: 'MyRole' is not an IAM role ARN",
  'rules[3]: must be an object',
];

describe('policy documents', () => {
  test('a file with many problems: loadConfig lists every one, each naming where it is', () => {
    const path = writePolicy(broken);
    const error = (() => {
      try {
        loadConfig({ ...base, EKS_WORKER_POLICY_FILE: path });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof ConfigError, String(error));
    for (const expected of expectedProblems) {
      assert.ok(
        error.problems.some((problem) => problem.includes(expected)),
        `missing: ${expected}\nin:\n${error.problems.join('\n')}`,
      );
    }
    assert.equal(error.problems.length, expectedProblems.length, error.problems.join('\n'));
    for (const problem of error.problems) {
      assert.ok(problem.startsWith(`EKS_WORKER_POLICY_FILE (${path}) `), problem);
    }
  });

  test('policy problems are listed together with the other settings’ problems', () => {
    assert.throws(
      () =>
        loadConfig({
          ...base,
          EKS_WORKER_MAX_CONCURRENT_TASKS: 'many',
          EKS_WORKER_POLICY: 'rules: [{ activities: [x], operations: [nope] }]',
        }),
      (error: ConfigError) =>
        error.problems.length === 2 &&
        error.problems[0]?.startsWith('EKS_WORKER_MAX_CONCURRENT_TASKS') === true &&
        error.problems[1]?.startsWith('EKS_WORKER_POLICY rules[0].operations[0]') === true,
    );
  });

  test('YAML that does not parse, and a document without rules, are reported', () => {
    assert.throws(
      () => parsePolicyText('rules: [unclosed', 'inline'),
      (error: PolicyDocumentError) => /not valid YAML or JSON/.test(error.problems[0] ?? ''),
    );
    assert.throws(
      () => parsePolicyText('{"rule": []}', 'inline'),
      (error: PolicyDocumentError) =>
        error.problems.includes('rule: unknown key (expected rules)') &&
        error.problems.includes('rules: is required and must be a list'),
    );
  });

  test('a valid file, JSON or YAML, is the policy in force; its source names the file', () => {
    const path = writePolicy(
      JSON.stringify({ rules: [{ name: 'calls', activities: ['*'], clusters: ['c'] }] }),
    );
    const config = loadConfig({ ...base, EKS_WORKER_POLICY_FILE: path });
    assert.equal(config.policyFile, path);
    assert.equal(config.policy.source, `EKS_WORKER_POLICY_FILE=${path}`);
    assert.deepEqual(
      config.policy.rules.map((rule) => rule.name),
      ['calls'],
    );
  });

  test('inline policy via EKS_WORKER_POLICY', () => {
    const config = loadConfig({
      ...base,
      EKS_WORKER_POLICY: 'rules:\n  - activities: ["*"]\n    clusters: [c]\n',
    });
    assert.equal(config.policy.source, 'EKS_WORKER_POLICY');
    assert.equal(config.policy.rules[0]?.name, 'rules[0]');
  });

  test('both variables set, or an unreadable file, are configuration errors', () => {
    const path = writePolicy('rules: []');
    assert.throws(
      () => loadConfig({ ...base, EKS_WORKER_POLICY_FILE: path, EKS_WORKER_POLICY: 'rules: []' }),
      /both set: set only one/,
    );
    assert.throws(
      () => loadConfig({ ...base, EKS_WORKER_POLICY_FILE: '/nonexistent/policy.yaml' }),
      /EKS_WORKER_POLICY_FILE cannot be read: ENOENT/,
    );
  });

  test('nothing configured: the default policy (runJob only)', () => {
    const config = loadConfig(base);
    assert.equal(config.policy, defaultPolicy);
    assert.equal(config.policy.source, 'default');
  });

  test('the shipped seed policy is valid', async () => {
    const { seedExamplesPolicyFile } = await import(
      '../../../infra/local-stack/worker-on-local-stack.ts'
    );
    const config = loadConfig({ ...base, EKS_WORKER_POLICY_FILE: seedExamplesPolicyFile });
    assert.deepEqual(
      config.policy.rules.map((rule) => rule.name),
      ['seed-jobs', 'seed-calls', 'seed-control-plane'],
    );
  });

  test('the methods and operations a policy may name are the integrations’ own', () => {
    assert.deepEqual([...policyCallMethods], [...kubeCallMethods]);
    assert.deepEqual(
      [...controlPlaneOperations].sort(),
      eksOperations.map((operation) => operation.name).sort(),
    );
  });
});

describe('patterns', () => {
  test('name patterns: * spans anything (slashes too, as in IAM), ? one character, the rest literal', () => {
    const role = compileNamePattern('arn:aws:iam::1:role/eks-*');
    assert.equal(role.regex.test('arn:aws:iam::1:role/eks-node'), true);
    assert.equal(role.regex.test('arn:aws:iam::1:role/eks-/path/node'), true);
    assert.equal(role.regex.test('arn:aws:iam::1:role/admin'), false);
    assert.equal(compileNamePattern('a.c').regex.test('abc'), false, '. is literal');
    assert.equal(compileNamePattern('a?c').regex.test('abc'), true);
    assert.equal(compileNamePattern('team').regex.test('team-a'), false, 'anchored');
  });

  test('path patterns: * within one segment, ** across segments', () => {
    const one = compilePathPattern('/api/v1/namespaces/*/pods');
    assert.equal(one.regex.test('/api/v1/namespaces/a/pods'), true);
    assert.equal(one.regex.test('/api/v1/namespaces/a/b/pods'), false);
    const any = compilePathPattern('/apis/batch/**');
    assert.equal(any.regex.test('/apis/batch'), true);
    assert.equal(any.regex.test('/apis/batch/v1/namespaces/a/jobs/j'), true);
    assert.equal(any.regex.test('/apis/batchx'), false);
  });
});
