import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster$, CreateFargateProfileRequest$ } from '@aws-sdk/client-eks';
import { NormalizedSchema } from '@smithy/core/schema';
import { makeEksControlPlaneIntegrations } from '../../../../lib/integrations/eks-control-plane/index.ts';
import {
  toSdkShape,
  toStepFunctionsShape,
} from '../../../../lib/integrations/eks-control-plane/member-shapes.ts';
import { eksOperations } from '../../../../lib/integrations/eks-control-plane/operations.ts';

describe('member shapes', () => {
  test('each operation lists exactly the members of the SDK runtime schema it validates with', () => {
    for (const operation of eksOperations) {
      const schemaMembers = [...NormalizedSchema.of(operation.requestSchema).structIterator()].map(
        ([name]) => name,
      );
      assert.deepEqual(
        [...operation.allMembers].sort(),
        schemaMembers.sort(),
        `${operation.name}: the compile-time member list and the SDK schema disagree`,
      );
    }
  });

  test('input member names are camel-cased but map keys inside selector labels are kept', () => {
    const { value, problems } = toSdkShape(CreateFargateProfileRequest$, {
      ClusterName: 'c',
      FargateProfileName: 'p',
      PodExecutionRoleArn: 'arn',
      Selectors: [{ Namespace: 'ns', Labels: { Tier: 'Web', 'app/Name': 'x' } }],
      Tags: { CostCentre: '42' },
    });

    assert.deepEqual(problems, []);
    assert.deepEqual(value, {
      clusterName: 'c',
      fargateProfileName: 'p',
      podExecutionRoleArn: 'arn',
      selectors: [{ namespace: 'ns', labels: { Tier: 'Web', 'app/Name': 'x' } }],
      tags: { CostCentre: '42' },
    });
  });

  test('output timestamps become ISO-8601 strings and unknown SDK keys such as $metadata are dropped', () => {
    const output = toStepFunctionsShape(Cluster$, {
      name: 'c',
      createdAt: new Date(Date.UTC(2025, 0, 31, 12, 0, 0)),
      tags: { camelKey: 'v' },
      health: { issues: [{ code: 'X', message: 'm', resourceIds: ['r'] }] },
      $metadata: { httpStatusCode: 200 },
    });

    assert.deepEqual(output, {
      Name: 'c',
      CreatedAt: '2025-01-31T12:00:00.000Z',
      Tags: { camelKey: 'v' },
      Health: { Issues: [{ Code: 'X', Message: 'm', ResourceIds: ['r'] }] },
    });
  });

  test('there are 12 integrations, with and without -sync for each operation', () => {
    const integrations = makeEksControlPlaneIntegrations({ eks: {} as never });

    assert.deepEqual(
      integrations.map((i) => i.activitySuffix),
      eksOperations.flatMap((o) => [`eks-${o.name}`, `eks-${o.name}-sync`]),
    );
    assert.equal(integrations.length, 12);
  });
});
