/**
 * Workflows a platform team writes, run through the worker on the local stack: Catch on our error
 * names, heartbeats keeping a long Job alive, a stopped execution cleaning up its Job, Step
 * Functions throttling, coordinates looked up from EKS, trust, and the create-cluster-then-run-a-Job
 * chain of the AWS sample project.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../infra/local-stack/worker-on-local-stack.ts';

const scriptAnnotation = 'local.eks-activity-worker/script';

/** A batch/v1 Job whose single container is scripted by the local kubelet. */
const scriptedJob = (name: string, script: Record<string, unknown>) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { annotations: { [scriptAnnotation]: JSON.stringify(script) } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
    },
  },
});

const runJobState = (parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  StartAt: 'Run',
  States: {
    Run: {
      Type: 'Task',
      Resource: 'arn:aws:states:::eks:runJob.sync',
      Parameters: parameters,
      ...extra,
    },
    ...('Catch' in extra ? { Handled: { Type: 'Pass', End: true } } : {}),
  },
});

const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };

const waitFor = async (check: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('workflows through the worker', () => {
  let env: WorkerOnLocalStack;
  let coordinates: { ClusterName: string; Endpoint: string; CertificateAuthority: string };
  before(async () => {
    env = await startWorkerOnLocalStack({ worker: { heartbeatIntervalMs: 200 } });
    const { cluster } = env.stack;
    coordinates = {
      ClusterName: cluster.clusterName,
      Endpoint: cluster.endpoint,
      CertificateAuthority: cluster.caData,
    };
  });
  after(() => env.close());

  test('a failing Job is caught by a Catch on EKS.JobFailed, with a cause naming the exit code and log tail', async () => {
    const definition = runJobState(
      {
        ...coordinates,
        Job: scriptedJob('fails', {
          durationMs: 50,
          exitCode: 3,
          log: { lines: ['working', 'boom: disk full'] },
        }),
        LogOptions: { RetrieveLogs: true },
      },
      {
        Catch: [{ ErrorEquals: ['EKS.JobFailed'], ResultPath: '$.failure', Next: 'Handled' }],
        End: true,
      },
    );
    const execution = await env.runExecution(await env.createStateMachine(definition));

    assert.equal(execution.status, 'SUCCEEDED', execution.cause);
    const { failure } = JSON.parse(execution.output ?? '{}');
    assert.equal(failure.Error, 'EKS.JobFailed');
    const cause = JSON.parse(failure.Cause);
    assert.equal(cause.JobName, 'fails');
    assert.equal(cause.Condition.Reason, 'BackoffLimitExceeded');
    const container = cause.FailedPods[0].Containers[0];
    assert.equal(container.ExitCode, 3);
    assert.match(JSON.stringify(container.LogTail), /boom: disk full/);
  });

  test('the same failure is caught by States.TaskFailed and by States.ALL, as native state machines expect', async () => {
    for (const [index, errorName] of ['States.TaskFailed', 'States.ALL'].entries()) {
      const definition = runJobState(
        { ...coordinates, Job: scriptedJob(`fails-${index}`, { durationMs: 20, exitCode: 1 }) },
        {
          Catch: [{ ErrorEquals: [errorName], ResultPath: '$.failure', Next: 'Handled' }],
          End: true,
        },
      );
      const execution = await env.runExecution(await env.createStateMachine(definition));
      assert.equal(execution.status, 'SUCCEEDED', `${errorName}: ${execution.cause}`);
      assert.equal(JSON.parse(execution.output ?? '{}').failure.Error, 'EKS.JobFailed');
    }
  });

  test('heartbeats keep a Job that outlives HeartbeatSeconds alive until it completes', async () => {
    const definition = runJobState(
      { ...coordinates, Job: scriptedJob('long', { durationMs: 2_500 }) },
      { HeartbeatSeconds: 1, End: true },
    );
    const execution = await env.runExecution(await env.createStateMachine(definition));
    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
  });

  test('a stopped execution makes the worker delete its Job (cleanup on abandon)', async () => {
    const definition = runJobState(
      { ...coordinates, Job: scriptedJob('stopped', { durationMs: 60_000 }) },
      { HeartbeatSeconds: 5, End: true },
    );
    const executionArn = await env.startExecution(await env.createStateMachine(definition));
    const jobExists = () =>
      env.stack.cluster.store.get(jobsType, 'default', 'stopped') !== undefined;
    await waitFor(jobExists, 10_000, 'the Job to be created');

    await env.stopExecution(executionArn);

    // The next heartbeat (every 200 ms here) gets TaskTimedOut; the worker then deletes the Job.
    await waitFor(() => !jobExists(), 10_000, 'the Job to be deleted');
    const execution = await env.waitForExecution(executionArn);
    assert.equal(execution.status, 'ABORTED');
  });

  test('omitted Endpoint and CertificateAuthority are looked up with DescribeCluster', async () => {
    const definition = {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::eks:call',
          Parameters: {
            ClusterName: coordinates.ClusterName,
            Method: 'GET',
            Path: '/api/v1/namespaces/default',
          },
          End: true,
        },
      },
    };
    const execution = await env.runExecution(await env.createStateMachine(definition));
    assert.equal(execution.status, 'SUCCEEDED', execution.cause);
    assert.equal(JSON.parse(execution.output ?? '{}').ResponseBody.metadata.name, 'default');
  });

  test('an Endpoint that EKS does not report for the cluster fails with EKS.EndpointNotTrusted and gets no request', async () => {
    const before = env.stack.cluster.requests.total();
    const definition = {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::eks:call',
          Parameters: {
            ...coordinates,
            Endpoint: coordinates.Endpoint.replace('127.0.0.1', 'localhost'),
            Method: 'GET',
            Path: '/api/v1/namespaces',
          },
          End: true,
        },
      },
    };
    const execution = await env.runExecution(await env.createStateMachine(definition));
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.EndpointNotTrusted');
    assert.equal(env.stack.cluster.requests.total(), before);
  });

  test('Step Functions throttling delays answers but loses none', async () => {
    const stateMachineArns = await Promise.all(
      [0, 1, 2, 3, 4].map((index) =>
        env.createStateMachine(
          runJobState(
            { ...coordinates, Job: scriptedJob(`throttled-${index}`, { durationMs: 100 }) },
            { End: true },
          ),
        ),
      ),
    );
    // A shared token bucket that 15 pollers (up to 2 polls a second each) and 5 tasks' heartbeats
    // and answers exhaust in bursts, plus polls, answers and heartbeats refused outright: every
    // kind of call must be retried. The refill stays above the pollers' steady demand, so the test
    // shows recovery rather than measuring starvation under a saturated bucket (which made it
    // take minutes at random: backoff grows to 20 s between answer attempts).
    env.stack.sfn.throttling.enable({ burst: 10, refillPerSecond: 60 });
    const throttled = { type: 'ThrottlingException', message: 'Rate exceeded', statusCode: 400 };
    env.stack.sfn.faults.failNext('GetActivityTask', throttled, 5);
    env.stack.sfn.faults.failNext('SendTaskSuccess', throttled, 3);
    env.stack.sfn.faults.failNext('SendTaskHeartbeat', throttled, 3);
    try {
      const executions = await Promise.all(
        stateMachineArns.map((arn) => env.runExecution(arn, {}, { timeoutMs: 60_000 })),
      );
      for (const execution of executions) {
        assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
      }
    } finally {
      env.stack.sfn.throttling.disable();
      env.stack.sfn.faults.clear();
    }
  });

  test('create a cluster, then run a Job on it with its Cluster.Endpoint and CertificateAuthority.Data', async () => {
    const definition = {
      StartAt: 'Create',
      States: {
        Create: {
          Type: 'Task',
          Resource: 'arn:aws:states:::eks:createCluster.sync',
          Parameters: {
            Name: 'chained',
            RoleArn: 'arn:aws:iam::123456789012:role/MyEKSClusterRole',
            ResourcesVpcConfig: { SubnetIds: ['subnet-1', 'subnet-2'] },
          },
          ResultSelector: {
            'Endpoint.$': '$.Cluster.Endpoint',
            'CertificateAuthority.$': '$.Cluster.CertificateAuthority.Data',
          },
          ResultPath: '$.cluster',
          Next: 'Run',
        },
        Run: {
          Type: 'Task',
          Resource: 'arn:aws:states:::eks:runJob.sync',
          Parameters: {
            ClusterName: 'chained',
            'Endpoint.$': '$.cluster.Endpoint',
            'CertificateAuthority.$': '$.cluster.CertificateAuthority',
            LogOptions: { RetrieveLogs: true },
            Job: scriptedJob('on-new-cluster', { durationMs: 50, log: { json: { answer: 42 } } }),
          },
          ResultSelector: { 'logs.$': '$.logs' },
          End: true,
        },
      },
    };
    const execution = await env.runExecution(await env.createStateMachine(definition));
    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    const { logs } = JSON.parse(execution.output ?? '{}');
    const pods = Object.values(logs.pods) as { containers: { main: { log: unknown } } }[];
    assert.deepEqual(pods[0]?.containers.main.log, { answer: 42 });
    assert.ok(env.stack.clusters.has('chained'));
  });
});
