import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EksControlPlane } from '../../../lib/aws/eks-control-plane.ts';
import { activitySuffixes } from '../../../lib/integrations/activity-suffixes.ts';
import { makeIntegrations } from '../../../lib/integrations/index.ts';
import { defaultPolicy } from '../../../lib/policy/document.ts';

test('the worker lists 15 distinct activity suffixes: eks-call, and each other API with and without -sync', () => {
  assert.equal(activitySuffixes.length, 15);
  assert.equal(new Set(activitySuffixes).size, 15);
  assert.ok(activitySuffixes.includes('eks-call'));
  assert.ok(!activitySuffixes.includes('eks-call-sync'));
  for (const suffix of activitySuffixes.filter((s) => s !== 'eks-call')) {
    const base = suffix.replace(/-sync$/, '');
    assert.ok(activitySuffixes.includes(base) && activitySuffixes.includes(`${base}-sync`), suffix);
  }
});

test('the integrations serve exactly the listed activity suffixes', () => {
  const integrations = makeIntegrations({
    connector: {
      connect: async () => {
        throw new Error('not connected in this test');
      },
    },
    // Nothing is called: building the integrations sends no request.
    eks: {} as EksControlPlane,
    policy: defaultPolicy,
    jobPollIntervalMs: 60_000,
    controlPlanePollIntervalMs: 10_000,
  });
  assert.deepEqual(
    integrations.map((integration) => integration.activitySuffix).sort(),
    [...activitySuffixes].sort(),
  );
});
