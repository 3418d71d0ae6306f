import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NormalizedSchema } from '@smithy/core/schema';
import { findConstraintProblems } from '../../../../lib/integrations/eks-control-plane/member-constraints.ts';
import { toSdkShape } from '../../../../lib/integrations/eks-control-plane/member-shapes.ts';
import { eksOperations } from '../../../../lib/integrations/eks-control-plane/operations.ts';
import { findEksNameProblem } from '../../../../lib/integrations/validation/eks-names.ts';

const createNodegroup = eksOperations.find((o) => o.name === 'createNodegroup');

describe('EKS member constraints', () => {
  test('numeric members must be 32-bit integers', () => {
    assert.ok(createNodegroup);
    for (const bad of [1.5, 1e308, 2 ** 31, -(2 ** 31) - 1]) {
      const { problems } = toSdkShape(createNodegroup.requestSchema, {
        ScalingConfig: { MinSize: bad },
      });
      assert.deepEqual(
        problems.map((p) => p.path),
        ['$.ScalingConfig.MinSize'],
        String(bad),
      );
    }
    assert.deepEqual(
      toSdkShape(createNodegroup.requestSchema, { ScalingConfig: { MinSize: 0, MaxSize: 3 } })
        .problems,
      [],
    );
  });

  test('every numeric request member is one EKS models as an Integer (reviewed list)', () => {
    // The SDK schemas say only "numeric". A new numeric member must be checked against the EKS
    // API reference (Integer or Double?) before it is added here.
    const found: string[] = [];
    const walk = (ns: NormalizedSchema, path: string): void => {
      if (ns.isStructSchema()) {
        for (const [name, member] of ns.structIterator()) walk(member, `${path}.${name}`);
      } else if (ns.isListSchema() || ns.isMapSchema()) walk(ns.getValueSchema(), `${path}[]`);
      else if (ns.isNumericSchema()) found.push(path);
    };
    for (const op of eksOperations) walk(NormalizedSchema.of(op.requestSchema), op.name);
    assert.deepEqual(found.sort(), [
      'createCluster.kubeApiServerConfig.serviceNodePortRange.maxPort',
      'createCluster.kubeApiServerConfig.serviceNodePortRange.minPort',
      'createCluster.kubeControllerManagerConfig.podGcControllerConfig.terminatedPodGcThreshold',
      'createCluster.kubeSchedulerConfig.nodeResourcesFit.scoringStrategy.resources[].weight',
      'createNodegroup.diskSize',
      'createNodegroup.nodeRepairConfig.maxParallelNodesRepairedCount',
      'createNodegroup.nodeRepairConfig.maxParallelNodesRepairedPercentage',
      'createNodegroup.nodeRepairConfig.maxUnhealthyNodeThresholdCount',
      'createNodegroup.nodeRepairConfig.maxUnhealthyNodeThresholdPercentage',
      'createNodegroup.nodeRepairConfig.nodeRepairConfigOverrides[].minRepairWaitTimeMins',
      'createNodegroup.scalingConfig.desiredSize',
      'createNodegroup.scalingConfig.maxSize',
      'createNodegroup.scalingConfig.minSize',
      'createNodegroup.updateConfig.maxUnavailable',
      'createNodegroup.updateConfig.maxUnavailablePercentage',
      'createNodegroup.warmPoolConfig.maxGroupPreparedCapacity',
      'createNodegroup.warmPoolConfig.minSize',
    ]);
  });

  test('documented ranges are checked', () => {
    const paths = findConstraintProblems({
      ScalingConfig: { MinSize: -1, MaxSize: 0, DesiredSize: 2 },
      UpdateConfig: { MaxUnavailable: 101, MaxUnavailablePercentage: 0 },
    }).map((p) => p.path);
    assert.deepEqual(paths, [
      '$.ScalingConfig.MinSize',
      '$.ScalingConfig.MaxSize',
      '$.UpdateConfig.MaxUnavailable',
      '$.UpdateConfig.MaxUnavailablePercentage',
    ]);
  });

  test('names are 1 to 100 characters of the documented pattern', () => {
    assert.equal(findEksNameProblem('a'.repeat(100)), undefined);
    assert.equal(findEksNameProblem('My_cluster-1'), undefined);
    for (const bad of ['a'.repeat(101), '-x', '_x', 'a.b', 'a/b', 'a b', 'ä', '']) {
      assert.notEqual(findEksNameProblem(bad), undefined, bad);
    }
    assert.deepEqual(
      findConstraintProblems({ ClusterName: 'x'.repeat(100_000), NodegroupName: 'ok' }).map(
        (p) => p.path,
      ),
      ['$.ClusterName'],
    );
  });
});
