/**
 * Acceptance: the seed's ten example state machines run through the worker with only `Resource`
 * (and, for the Kubernetes API ones, the cluster coordinates) swapped, and produce the documented
 * output shapes (contract §2, §3), under the documented policy that enables them
 * (infra/policies/seed-examples.yaml), as `npm start` runs them. The cluster example 04 creates
 * comes first, so the Kubernetes examples run on `MyCluster`, the cluster the policy names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  seedExamplesPolicyFile,
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
  withLocalCluster,
} from '../../infra/local-stack/worker-on-local-stack.ts';
import { loadSeedExample } from '../local-stack/sfn/support.ts';

const outputOf = (execution: {
  status?: string;
  output?: string;
  error?: string;
  cause?: string;
}) => {
  assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
  return JSON.parse(execution.output ?? 'null');
};

describe('seed examples through the worker', () => {
  let env: WorkerOnLocalStack;
  before(async () => {
    env = await startWorkerOnLocalStack({ config: { policyFile: seedExamplesPolicyFile } });
  });
  after(() => env.close());

  const runSeed = async (fileName: string, swapCluster: boolean) => {
    const native = loadSeedExample(fileName);
    const myCluster = env.stack.clusters.get('MyCluster');
    if (swapCluster && !myCluster) throw new Error('MyCluster was not created (example 04)');
    const definition = swapCluster && myCluster ? withLocalCluster(native, myCluster) : native;
    const arn = await env.createStateMachine(definition);
    return env.runExecution(arn);
  };

  test('04 createCluster.sync: the ACTIVE cluster, with a real API server', async () => {
    const created = outputOf(await runSeed('04-create-cluster-sync.asl.json', false));
    assert.equal(created.Cluster.Name, 'MyCluster');
    assert.equal(created.Cluster.Status, 'ACTIVE');
    assert.deepEqual(created.Cluster.ResourcesVpcConfig.SubnetIds, [
      'subnet-053e7c47012341234',
      'subnet-027cfea4b12341234',
    ]);
    assert.match(created.Cluster.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.match(created.Cluster.Endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('01 runJob.sync with logs: the final Job with a logs entry per pod and container', async () => {
    const output = outputOf(await runSeed('01-runjob-sync-with-logs.asl.json', true));
    assert.equal(output.kind, 'Job');
    assert.equal(output.metadata.name, 'example-job');
    assert.equal(output.metadata.managedFields, undefined);
    assert.ok(
      output.status.conditions.some(
        (c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True',
      ),
    );
    const pods = Object.entries(output.logs.pods) as [
      string,
      { containers: Record<string, { log?: unknown }> },
    ][];
    assert.equal(pods.length, 1);
    const [podName, pod] = pods[0] as [string, { containers: Record<string, { log?: unknown }> }];
    assert.match(podName, /^example-job-/);
    assert.ok('log' in (pod.containers['pi-2000'] ?? {}), JSON.stringify(pod));
  });

  test('02 call GET pods by label: ResponseBody is the PodList, with StatusCode and StatusText', async () => {
    const output = outputOf(await runSeed('02-call-list-pods.asl.json', true));
    assert.equal(output.StatusCode, 200);
    assert.equal(output.StatusText, 'OK');
    assert.equal(output.ResponseBody.kind, 'PodList');
    assert.equal(output.ResponseBody.items.length, 1, 'the pod of seed 01');
    assert.equal(output.ResponseBody.items[0].metadata.labels['job-name'], 'example-job');
  });

  test('03 call DELETE job with Foreground propagation succeeds and the Job is gone', async () => {
    const output = outputOf(await runSeed('03-call-delete-job.asl.json', true));
    assert.equal(output.StatusCode, 200);
    assert.equal(output.ResponseBody.kind, 'Status');
    const stillThere = env.stack.clusters
      .get('MyCluster')
      ?.store.list(
        { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
        'default',
      );
    assert.ok(stillThere);
    assert.equal(stillThere.items.filter((j) => j.metadata.name === 'example-job').length, 0);
  });

  test('10 call POST the aws-auth ConfigMap: 201 Created with the stored object', async () => {
    const output = outputOf(await runSeed('10-call-create-aws-auth-configmap.asl.json', true));
    assert.equal(output.StatusCode, 201);
    assert.equal(output.StatusText, 'Created');
    assert.equal(output.ResponseBody.kind, 'ConfigMap');
    assert.equal(output.ResponseBody.metadata.namespace, 'kube-system');
    assert.match(output.ResponseBody.data.mapRoles, /my-role/);
  });

  test('the seed policy allows the ten and not more: reading kube-system secrets is denied', async () => {
    const native = loadSeedExample('02-call-list-pods.asl.json');
    const myCluster = env.stack.clusters.get('MyCluster');
    assert.ok(myCluster);
    const definition = JSON.parse(
      JSON.stringify(withLocalCluster(native, myCluster)).replace(
        '/api/v1/namespaces/default/pods',
        '/api/v1/namespaces/kube-system/secrets',
      ),
    );
    const execution = await env.runExecution(await env.createStateMachine(definition));
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.PolicyDenied');
    assert.equal(JSON.parse(execution.cause ?? '{}').Rule, 'seed-calls');
  });

  test('06 to 09, then 05: a Fargate profile and a node group, then delete them all', async () => {
    const profile = outputOf(await runSeed('06-create-fargate-profile-sync.asl.json', false));
    assert.equal(profile.FargateProfile.Status, 'ACTIVE');
    assert.deepEqual(profile.FargateProfile.Selectors, [
      { Namespace: 'my-namespace', Labels: { 'my-label': 'my-value' } },
    ]);

    const nodegroup = outputOf(await runSeed('08-create-nodegroup-sync.asl.json', false));
    assert.equal(nodegroup.Nodegroup.Status, 'ACTIVE');
    assert.equal(nodegroup.Nodegroup.NodeRole, 'arn:aws:iam::123456789012:role/MyNodeInstanceRole');

    const profileDeleted = outputOf(
      await runSeed('07-delete-fargate-profile-sync.asl.json', false),
    );
    assert.equal(profileDeleted.FargateProfile.FargateProfileName, 'MyFargateProfile');
    const nodegroupDeleted = outputOf(await runSeed('09-delete-nodegroup-sync.asl.json', false));
    assert.equal(nodegroupDeleted.Nodegroup.NodegroupName, 'MyNodegroup');
    const clusterDeleted = outputOf(await runSeed('05-delete-cluster-sync.asl.json', false));
    assert.equal(clusterDeleted.Cluster.Name, 'MyCluster');
    assert.equal(env.stack.clusters.has('MyCluster'), false, 'its API server is gone too');
  });
});
