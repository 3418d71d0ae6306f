import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Integration } from '../../../lib/integrations/types.ts';
import {
  readActivityName,
  resolveActivities,
  resolveIntegration,
  WorkerConfigurationError,
} from '../../../lib/worker/resolve-integration.ts';

const makeIntegration = (activitySuffix: string): Integration => ({
  activitySuffix,
  run: async () => null,
});
const integrations = ['eks-call', 'eks-runJob', 'eks-runJob-sync', 'eks-createCluster-sync'].map(
  makeIntegration,
);
const suffixFor = (name: string) => resolveIntegration(name, integrations)?.activitySuffix;

describe('activity name -> integration', () => {
  test('the activity name is the segment after :activity:', () => {
    assert.equal(
      readActivityName('arn:aws:states:eu-west-1:123456789012:activity:prod-eks-call'),
      'prod-eks-call',
    );
    assert.equal(
      readActivityName('arn:aws:states:eu-west-1:123456789012:stateMachine:x'),
      undefined,
    );
  });

  test('a name equal to a suffix selects it', () => {
    assert.equal(suffixFor('eks-call'), 'eks-call');
  });

  test('a stage prefix is allowed', () => {
    assert.equal(suffixFor('prod-eks-runJob-sync'), 'eks-runJob-sync');
    assert.equal(suffixFor('prod_eks-runJob'), 'eks-runJob');
  });

  test('eks-runJob-sync is never taken for eks-runJob', () => {
    assert.equal(suffixFor('team-eks-runJob-sync'), 'eks-runJob-sync');
    assert.equal(suffixFor('team-eks-runJob'), 'eks-runJob');
  });

  test('a suffix glued to other letters does not match', () => {
    assert.equal(suffixFor('myeks-call'), undefined);
    assert.equal(suffixFor('eks-call-v2'), undefined);
  });

  test('all unusable activities are reported together', () => {
    assert.throws(
      () =>
        resolveActivities(
          [
            'arn:aws:states:us-east-1:123456789012:activity:prod-eks-call',
            'arn:aws:states:us-east-1:123456789012:activity:prod-eks-nothing',
            'not-an-arn',
          ],
          integrations,
        ),
      (error: unknown) =>
        error instanceof WorkerConfigurationError &&
        error.problems.length === 2 &&
        /prod-eks-nothing/.test(error.message) &&
        /not-an-arn/.test(error.message),
    );
  });

  test('an empty list of activities is a configuration error', () => {
    assert.throws(() => resolveActivities([], integrations), WorkerConfigurationError);
  });
});
