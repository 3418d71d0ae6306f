import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidParametersError, type TaskFailedError } from '../../../../lib/errors.ts';
import {
  abortAfterFirstCall,
  failsWith,
  isAbandoned,
  type LocalEks,
  startLocalEks,
  waitUntil,
} from './support/local-eks.ts';

const clusterName = 'fp-cluster';

const profileInput = (name: string, extra: Record<string, unknown> = {}) => ({
  ClusterName: clusterName,
  FargateProfileName: name,
  PodExecutionRoleArn: 'arn:aws:iam::123456789012:role/MyFargatePodExecutionRole',
  Selectors: [{ Namespace: 'my-namespace', Labels: { 'app.kubernetes.io/name': 'web' } }],
  ...extra,
});

describe('Fargate profile integrations', () => {
  let local: LocalEks;
  before(async () => {
    local = await startLocalEks();
    local.localEks.registerCluster({
      name: clusterName,
      endpoint: 'https://127.0.0.1:1',
      certificateAuthorityData: Buffer.from('not a real CA').toString('base64'),
    });
  });
  after(() => local.close());

  const statusOf = (fargateProfileName: string) =>
    local.eks.describeFargateProfile({ clusterName, fargateProfileName }).then(
      (described) => described.fargateProfile?.status,
      (error: { exceptionName?: string }) => error.exceptionName,
    );

  const createActiveProfile = async (name: string) => {
    await local.eks.createFargateProfile({
      clusterName,
      fargateProfileName: name,
      podExecutionRoleArn: 'arn:aws:iam::123456789012:role/MyFargatePodExecutionRole',
      selectors: [{ namespace: 'default' }],
    });
    await waitUntil(async () => (await statusOf(name)) === 'ACTIVE');
  };

  describe('eks:createFargateProfile', () => {
    test('without .sync, outputs the CreateFargateProfile response with selector labels as given', async () => {
      const output = (await local.run('eks-createFargateProfile', profileInput('plain-fp'))) as {
        FargateProfile: Record<string, unknown>;
      };

      assert.equal(output.FargateProfile.FargateProfileName, 'plain-fp');
      assert.equal(output.FargateProfile.Status, 'CREATING');
      assert.deepEqual(output.FargateProfile.Selectors, [
        { Namespace: 'my-namespace', Labels: { 'app.kubernetes.io/name': 'web' } },
      ]);
    });

    test('with .sync, waits until ACTIVE and outputs the final DescribeFargateProfile result', async () => {
      const output = (await local.run(
        'eks-createFargateProfile-sync',
        profileInput('sync-fp'),
      )) as {
        FargateProfile: { Status: string; FargateProfileName: string };
      };

      assert.equal(output.FargateProfile.Status, 'ACTIVE');
      assert.equal(output.FargateProfile.FargateProfileName, 'sync-fp');
    });

    test('with .sync, CREATE_FAILED fails with EKS.FargateProfileFailed and the health issues as cause', async () => {
      const run = local.run(
        'eks-createFargateProfile-sync',
        profileInput('failing-fp', { Tags: { 'eks-local/outcome': 'CREATE_FAILED' } }),
      );

      await assert.rejects(run, failsWith('EKS.FargateProfileFailed'));
      const error = (await run.catch((e: unknown) => e)) as TaskFailedError;
      const cause = error.failureCause as {
        FargateProfile: { Status: string; Health: { Issues: { Code: string }[] } };
      };
      assert.equal(cause.FargateProfile.Status, 'CREATE_FAILED');
      assert.equal(cause.FargateProfile.Health.Issues[0]?.Code, 'AccessDenied');
    });

    test('a name already taken fails with EKS.ResourceInUseException', async () => {
      await local.run('eks-createFargateProfile', profileInput('taken-fp'));

      await assert.rejects(
        local.run('eks-createFargateProfile-sync', profileInput('taken-fp')),
        failsWith('EKS.ResourceInUseException'),
      );
    });

    test('throttled calls are retried and the create still succeeds', async () => {
      local.localEks.counters.reset();
      local.localEks.faults.inject('CreateFargateProfile', 'throttle', 1);
      local.localEks.faults.inject('DescribeFargateProfile', 'server-error', 1);

      const output = (await local.run(
        'eks-createFargateProfile-sync',
        profileInput('throttled-fp'),
      )) as { FargateProfile: { Status: string } };

      assert.equal(output.FargateProfile.Status, 'ACTIVE');
      assert.equal(local.localEks.counters.get('CreateFargateProfile'), 2);
      assert.equal(local.localEks.faults.pending, 0);
    });

    test('a stopped execution ends the wait and leaves the profile in place', async () => {
      local.localEks.counters.reset();
      const controller = new AbortController();
      const eks = abortAfterFirstCall(local.eks, 'describeFargateProfile', controller);

      await assert.rejects(
        local.run('eks-createFargateProfile-sync', profileInput('abandoned-fp'), {
          eks,
          signal: controller.signal,
        }),
        isAbandoned,
      );

      assert.equal(local.localEks.counters.get('DeleteFargateProfile'), 0);
      assert.ok(['CREATING', 'ACTIVE'].includes(String(await statusOf('abandoned-fp'))));
    });

    test('bad input fails with EKS.InvalidParameters before any call to EKS', async () => {
      local.localEks.counters.reset();

      await assert.rejects(
        local.run('eks-createFargateProfile-sync', {
          ClusterName: clusterName,
          Selectors: { Namespace: 'x' },
        }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidParametersError);
          assert.deepEqual(error.problems.map((p) => p.path).sort(), [
            '$.FargateProfileName',
            '$.PodExecutionRoleArn',
            '$.Selectors',
          ]);
          return true;
        },
      );
      assert.equal(local.localEks.counters.total(), 0);
    });
  });

  describe('eks:deleteFargateProfile', () => {
    test('without .sync, outputs the DeleteFargateProfile response (status DELETING)', async () => {
      await createActiveProfile('plain-delete-fp');

      const output = (await local.run('eks-deleteFargateProfile', {
        ClusterName: clusterName,
        FargateProfileName: 'plain-delete-fp',
      })) as { FargateProfile: { Status: string } };

      assert.equal(output.FargateProfile.Status, 'DELETING');
    });

    test('with .sync, waits until the profile is gone and outputs the DeleteFargateProfile response', async () => {
      await createActiveProfile('sync-delete-fp');

      const output = (await local.run('eks-deleteFargateProfile-sync', {
        ClusterName: clusterName,
        FargateProfileName: 'sync-delete-fp',
      })) as { FargateProfile: { Status: string } };

      assert.equal(output.FargateProfile.Status, 'DELETING');
      assert.equal(await statusOf('sync-delete-fp'), 'ResourceNotFoundException');
    });

    test('with .sync, DELETE_FAILED fails with EKS.FargateProfileFailed', async () => {
      await createActiveProfile('undeletable-fp');
      local.localEks.script({
        resource: 'fargateProfile',
        clusterName,
        name: 'undeletable-fp',
        outcome: 'DELETE_FAILED',
      });

      await assert.rejects(
        local.run('eks-deleteFargateProfile-sync', {
          ClusterName: clusterName,
          FargateProfileName: 'undeletable-fp',
        }),
        failsWith('EKS.FargateProfileFailed'),
      );
    });

    test('deleting a profile that does not exist fails with EKS.ResourceNotFoundException', async () => {
      await assert.rejects(
        local.run('eks-deleteFargateProfile-sync', {
          ClusterName: clusterName,
          FargateProfileName: 'never-existed',
        }),
        failsWith('EKS.ResourceNotFoundException'),
      );
    });

    test('throttled calls are retried and the delete still completes', async () => {
      await createActiveProfile('throttled-delete-fp');
      local.localEks.faults.inject('DeleteFargateProfile', 'throttle', 1);

      const output = (await local.run('eks-deleteFargateProfile-sync', {
        ClusterName: clusterName,
        FargateProfileName: 'throttled-delete-fp',
      })) as { FargateProfile: { Status: string } };

      assert.equal(output.FargateProfile.Status, 'DELETING');
      assert.equal(local.localEks.faults.pending, 0);
    });

    test('a stopped execution ends the wait', async () => {
      await createActiveProfile('abandoned-delete-fp');
      const controller = new AbortController();
      const eks = abortAfterFirstCall(local.eks, 'describeFargateProfile', controller);

      await assert.rejects(
        local.run(
          'eks-deleteFargateProfile-sync',
          { ClusterName: clusterName, FargateProfileName: 'abandoned-delete-fp' },
          { eks, signal: controller.signal },
        ),
        isAbandoned,
      );
    });

    test('bad input fails with EKS.InvalidParameters before any call to EKS', async () => {
      local.localEks.counters.reset();

      await assert.rejects(
        local.run('eks-deleteFargateProfile-sync', { FargateProfileName: 'x' }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidParametersError);
          assert.deepEqual(error.problems, [{ path: '$.ClusterName', message: 'is required' }]);
          return true;
        },
      );
      assert.equal(local.localEks.counters.total(), 0);
    });
  });
});
