import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  activitySuffixForNativeResource,
  toActivityDefinition,
} from '../../infra/state-machines/native-resources.ts';

describe('native resource to activity mapping', () => {
  test('every native EKS resource maps to the activity suffix of contract §1', () => {
    const expected: Record<string, string> = {
      'arn:aws:states:::eks:runJob': 'eks-runJob',
      'arn:aws:states:::eks:runJob.sync': 'eks-runJob-sync',
      'arn:aws:states:::eks:call': 'eks-call',
      'arn:aws:states:::eks:createCluster.sync': 'eks-createCluster-sync',
      'arn:aws:states:::eks:deleteCluster': 'eks-deleteCluster',
      'arn:aws:states:::eks:createFargateProfile.sync': 'eks-createFargateProfile-sync',
      'arn:aws:states:::eks:deleteFargateProfile': 'eks-deleteFargateProfile',
      'arn:aws:states:::eks:createNodegroup.sync': 'eks-createNodegroup-sync',
      'arn:aws-us-gov:states:::eks:deleteNodegroup.sync': 'eks-deleteNodegroup-sync',
    };
    for (const [resource, suffix] of Object.entries(expected)) {
      assert.equal(activitySuffixForNativeResource(resource), suffix, resource);
    }
  });

  test('resources that are not native EKS integrations map to nothing', () => {
    for (const resource of [
      'arn:aws:states:::eks:call.sync',
      'arn:aws:states:::eks:describeCluster',
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:us-east-1:123456789012:activity:eks-call',
    ]) {
      assert.equal(activitySuffixForNativeResource(resource), undefined, resource);
    }
  });

  test('a definition is rewritten inside Parallel branches and Map processors, keeping the rest', () => {
    const definition = {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Run',
              States: {
                Run: {
                  Type: 'Task',
                  Resource: 'arn:aws:states:::eks:runJob.sync',
                  Parameters: { ClusterName: 'c' },
                  Retry: [{ ErrorEquals: ['States.ALL'] }],
                  End: true,
                },
              },
            },
          ],
          Next: 'M',
        },
        M: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'Call',
            States: { Call: { Type: 'Task', Resource: 'arn:aws:states:::eks:call', End: true } },
          },
          Next: 'L',
        },
        L: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true },
      },
    };
    const rewritten = toActivityDefinition(definition, (suffix) => `arn:activity:${suffix}`);
    const run = rewritten.States.P.Branches[0]?.States.Run;
    assert.equal(run?.Resource, 'arn:activity:eks-runJob-sync');
    assert.deepEqual(run?.Parameters, { ClusterName: 'c' });
    assert.deepEqual(run?.Retry, [{ ErrorEquals: ['States.ALL'] }]);
    assert.equal(rewritten.States.M.ItemProcessor.States.Call.Resource, 'arn:activity:eks-call');
    assert.equal(rewritten.States.L.Resource, 'arn:aws:states:::lambda:invoke');
    assert.equal(definition.States.L.Resource, 'arn:aws:states:::lambda:invoke', 'input untouched');
    assert.equal(
      definition.States.P.Branches[0]?.States.Run.Resource,
      'arn:aws:states:::eks:runJob.sync',
    );
  });
});

test('serverless.yml declares an activity for every suffix the worker serves, and no other', async () => {
  const { allActivitySuffixes } = await import('../../infra/state-machines/native-resources.ts');
  const { createRequire } = await import('node:module');
  const declared = createRequire(import.meta.url)('../../infra/serverless/activities.cjs') as {
    activitySuffixes: string[];
  };
  assert.equal(allActivitySuffixes.length, 15);
  assert.deepEqual([...declared.activitySuffixes].sort(), [...allActivitySuffixes].sort());
});
