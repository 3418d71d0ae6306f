/** The guard around an integration: decided before `run` and `resume`, which a denial never reaches. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Integration, TaskContext } from '../../../lib/integrations/types.ts';
import { defaultPolicy, parsePolicyDocument } from '../../../lib/policy/document.ts';
import {
  guardIntegration,
  logPolicyInForce,
  PolicyDeniedError,
} from '../../../lib/policy/guard.ts';

const policy = parsePolicyDocument(
  {
    rules: [
      { name: 'jobs', activities: ['*-eks-runJob-sync'], clusters: ['c'], namespaces: ['a'] },
    ],
  },
  'unit',
);

const makeInner = (suffix: string) => {
  const calls: string[] = [];
  const inner: Integration = {
    activitySuffix: suffix,
    run: async () => {
      calls.push('run');
      return 'ran';
    },
    resume: async () => {
      calls.push('resume');
      return 'resumed';
    },
  };
  return { inner, calls };
};

const context = (activityName: string): TaskContext => ({
  signal: new AbortController().signal,
  logger: new Logger({ logLevel: 'SILENT' }),
  activityName,
});

const input = (namespace: string) => ({
  ClusterName: 'c',
  Namespace: namespace,
  Job: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: {} },
});

describe('guardIntegration', () => {
  test('an allowed task runs and resumes through the integration', async () => {
    const { inner, calls } = makeInner('eks-runJob-sync');
    const guarded = guardIntegration(inner, policy);
    assert.equal(guarded.activitySuffix, 'eks-runJob-sync');
    assert.equal(await guarded.run(input('a'), context('p-eks-runJob-sync')), 'ran');
    assert.equal(
      await guarded.resume?.(input('a'), { jobName: 'j' }, context('p-eks-runJob-sync')),
      'resumed',
    );
    assert.deepEqual(calls, ['run', 'resume']);
  });

  test('a denied task never reaches run, nor resume (a policy tightened since it started)', async () => {
    const { inner, calls } = makeInner('eks-runJob-sync');
    const guarded = guardIntegration(inner, policy);
    await assert.rejects(
      guarded.run(input('b'), context('p-eks-runJob-sync')),
      (error: PolicyDeniedError) =>
        error instanceof PolicyDeniedError &&
        error.errorName === 'EKS.PolicyDenied' &&
        error.retryable === false,
    );
    await assert.rejects(
      guarded.resume?.(input('b'), { jobName: 'j' }, context('p-eks-runJob-sync')) ??
        Promise.resolve(),
      PolicyDeniedError,
    );
    assert.deepEqual(calls, []);
  });

  test('an invalid input fails as the integration would (EKS.InvalidParameters), unsent', async () => {
    const { inner, calls } = makeInner('eks-runJob-sync');
    await assert.rejects(
      guardIntegration(inner, policy).run({ ClusterName: 'c' }, context('p-eks-runJob-sync')),
      (error: { errorName?: string }) => error.errorName === 'EKS.InvalidParameters',
    );
    assert.deepEqual(calls, []);
  });

  test('an integration the policy cannot read is denied, whatever the policy says', async () => {
    const { inner, calls } = makeInner('eks-somethingNew');
    const open = parsePolicyDocument({ rules: [{ activities: ['*'], clusters: ['*'] }] }, 'open');
    await assert.rejects(
      guardIntegration(inner, open).run({}, context('p-eks-somethingNew')),
      PolicyDeniedError,
    );
    assert.deepEqual(calls, []);
  });

  test('an integration without resume stays without one', () => {
    const inner: Integration = { activitySuffix: 'eks-runJob', run: async () => 'ran' };
    const guarded = guardIntegration(inner, policy);
    assert.equal(guarded.resume, undefined);
    assert.equal(Object.hasOwn(guarded, 'resume'), false);
  });

  test("decorates: every field but run and resume is the integration's own, an added one too", () => {
    const { inner } = makeInner('eks-runJob-sync');
    // A field Integration may gain later: the guard must carry it without naming it.
    const extra = { sentinel: Symbol('extra') };
    const decorated = Object.assign(inner, {
      outputTooLargeAdvice: "Ask for less: use 'limit'.",
      someFutureField: extra,
    });
    const guarded = guardIntegration(decorated, policy);
    const fieldsOf = (integration: object) =>
      Object.keys(integration)
        .filter((key) => key !== 'run' && key !== 'resume')
        .sort();
    assert.deepEqual(fieldsOf(guarded), fieldsOf(decorated));
    assert.deepEqual(fieldsOf(guarded), [
      'activitySuffix',
      'outputTooLargeAdvice',
      'someFutureField',
    ]);
    for (const key of fieldsOf(decorated)) {
      assert.equal(
        (guarded as unknown as Record<string, unknown>)[key],
        (decorated as unknown as Record<string, unknown>)[key],
        key,
      );
    }
    assert.equal(guarded.outputTooLargeAdvice, "Ask for less: use 'limit'.");
    // run and resume are the guard's, not the integration's unchecked ones.
    assert.notEqual(guarded.run, decorated.run);
    assert.notEqual(guarded.resume, decorated.resume);
  });
});

describe('logPolicyInForce (at start)', () => {
  const capture = () => {
    const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    return {
      lines,
      logger: {
        info: (message: string, fields?: Record<string, unknown>) =>
          lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
        warn: (message: string, fields?: Record<string, unknown>) =>
          lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
      } as unknown as Parameters<typeof logPolicyInForce>[2],
    };
  };

  test('names the policy and its rules, and warns of served activities no rule names', () => {
    const { lines, logger } = capture();
    logPolicyInForce(policy, ['p-eks-runJob-sync', 'p-eks-call', 'p-eks-deleteCluster'], logger);
    assert.deepEqual(lines[0], {
      level: 'info',
      message: 'Policy in force',
      fields: { policy: 'unit', rules: ['jobs'] },
    });
    assert.deepEqual(lines[1]?.fields, { activities: ['p-eks-call', 'p-eks-deleteCluster'] });
    assert.equal(lines.length, 2);
  });

  test('the default policy is called out with a warning saying how to set one', () => {
    const { lines, logger } = capture();
    logPolicyInForce(defaultPolicy, ['p-eks-runJob'], logger);
    assert.equal(lines.length, 2);
    assert.match(lines[1]?.message ?? '', /No policy configured.*EKS_WORKER_POLICY_FILE/);
  });
});
