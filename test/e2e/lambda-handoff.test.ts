/**
 * Acceptance (issue 6, Lambda): a `.sync` task that outlives a Lambda invocation is handed off,
 * resumed across several invocations, and answered once with the same output as without
 * hand-offs. The Lambda handlers run in-process against the local stack and the local SQS, with a
 * simulated function timeout of a few seconds and every budget scaled down to match.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { scriptAnnotation } from '../../infra/local-stack/kube/kubelet/container-script.ts';
import { withLocalCluster } from '../../infra/local-stack/worker-on-local-stack.ts';
import {
  type LambdaOnLocalStack,
  startLambdaOnLocalStack,
} from '../functions/support/lambda-on-local-stack.ts';

const logLines = ['step 1 of 3', 'step 2 of 3', 'all done: 42'];

/** A native runJob.sync state whose Job runs `durationMs` and prints `logLines`. */
const makeRunJobDefinition = (durationMs: number) => ({
  StartAt: 'Run',
  States: {
    Run: {
      Type: 'Task',
      Resource: 'arn:aws:states:::eks:runJob.sync',
      HeartbeatSeconds: 30,
      TimeoutSeconds: 120,
      Parameters: {
        ClusterName: 'MyCluster',
        CertificateAuthority: 'x',
        Endpoint: 'https://example.invalid',
        Namespace: 'default',
        LogOptions: { RetrieveLogs: true },
        Job: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { 'name.$': '$.jobName' },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: {
                annotations: {
                  [scriptAnnotation]: JSON.stringify({
                    durationMs,
                    log: { kind: 'lines', lines: logLines },
                  }),
                },
              },
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'worker', image: 'busybox', command: ['true'] }],
              },
            },
          },
        },
      },
      End: true,
    },
  },
});

interface JobOutput {
  kind: string;
  metadata: { name: string; uid: string };
  status: { succeeded?: number; conditions: { type: string; status: string }[] };
  logs: { pods: Record<string, { containers: Record<string, { log?: unknown }> }> };
}

/** The parts of a runJob.sync output that do not depend on names, uids or times. */
const toComparable = (output: JobOutput) => ({
  kind: output.kind,
  succeeded: output.status.succeeded,
  conditions: output.status.conditions
    .filter((condition) => condition.status === 'True')
    .map((condition) => condition.type)
    .sort(),
  logs: Object.values(output.logs.pods).map((pod) => pod.containers),
  keys: Object.keys(output).sort(),
});

describe('Lambda hand-off and resume on the local stack', () => {
  let lambda: LambdaOnLocalStack;
  before(async () => {
    lambda = await startLambdaOnLocalStack({
      invocationMs: 2_000,
      stack: { stack: { eksTimings: { clusterCreatingMs: 3_000 } } },
    });
  });
  after(() => lambda.close());

  const succeeded = (execution: {
    status?: string;
    output?: string;
    error?: string;
    cause?: string;
  }) => {
    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    return JSON.parse(execution.output ?? 'null');
  };

  test('a 5 s Job crosses several 2 s invocations and answers as it does without hand-offs', async () => {
    const { env } = lambda;
    const definition = withLocalCluster(makeRunJobDefinition(5_000), env.stack.cluster);
    const stateMachineArn = await env.createStateMachine(definition);

    // Reference run: the long-lived worker, same loop and integration, never handed off.
    const reference = succeeded(
      await env.runExecution(stateMachineArn, { jobName: 'reference-job' }, { timeoutMs: 20_000 }),
    ) as JobOutput;
    await env.worker.stop({ graceMs: 0 });

    const pollerBefore = lambda.invocations.poller;
    lambda.startLambdaService();
    const handedOff = succeeded(
      await env.runExecution(stateMachineArn, { jobName: 'handed-off-job' }, { timeoutMs: 30_000 }),
    ) as JobOutput;
    await lambda.stopLambdaService();

    assert.equal(handedOff.metadata.name, 'handed-off-job');
    assert.deepEqual(toComparable(handedOff), toComparable(reference));
    const container = Object.values(handedOff.logs.pods)[0]?.containers.worker;
    assert.equal(container?.log, `${logLines.join('\n')}\n`);

    const messages = lambda.sentBodies.map((body) => JSON.parse(body) as Record<string, unknown>);
    assert.ok(messages.length >= 2, `handed off ${messages.length} times`);
    assert.deepEqual(
      messages.map((message) => message.handOffCount),
      messages.map((_message, index) => index + 1),
    );
    for (const message of messages) {
      assert.deepEqual(message.checkpoint, {
        namespace: 'default',
        jobName: 'handed-off-job',
        uid: handedOff.metadata.uid,
      });
    }
    assert.ok(lambda.invocations.poller - pollerBefore >= 1);
    assert.ok(lambda.invocations.resumer >= 2, `${lambda.invocations.resumer} resumer invocations`);

    // One Job only: resuming never created another.
    const jobs = env.stack.cluster.store.list(
      { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
      'default',
    );
    assert.equal(jobs.items.filter((job) => job.metadata.name === 'handed-off-job').length, 1);
  });

  test('the metrics count the hand-offs and exactly one success per task', () => {
    // The reference run went through the process worker: one task for the Lambda functions.
    assert.equal(lambda.metrics.total('TasksSucceeded'), 1);
    assert.equal(lambda.metrics.total('TasksStarted'), 1);
    // Every message sent is a park (the Job exists) or a hand-back (an invocation ending).
    assert.ok(lambda.metrics.total('TasksParked') >= 1);
    assert.equal(
      lambda.metrics.total('HandOffs') + lambda.metrics.total('TasksParked'),
      lambda.sentBodies.length,
    );
    assert.ok(lambda.metrics.total('TasksResumed') >= 2);
  });

  test('a createCluster.sync still CREATING at the end of an invocation is resumed to ACTIVE', async () => {
    const { env } = lambda;
    const before = lambda.sentBodies.length;
    const stateMachineArn = await env.createStateMachine({
      StartAt: 'Create',
      States: {
        Create: {
          Type: 'Task',
          Resource: 'arn:aws:states:::eks:createCluster.sync',
          HeartbeatSeconds: 30,
          Parameters: {
            Name: 'HandedOffCluster',
            RoleArn: 'arn:aws:iam::123456789012:role/MyEKSClusterRole',
            ResourcesVpcConfig: { SubnetIds: ['subnet-a', 'subnet-b'] },
          },
          End: true,
        },
      },
    });
    lambda.startLambdaService();
    const output = succeeded(await env.runExecution(stateMachineArn, {}, { timeoutMs: 30_000 }));
    await lambda.stopLambdaService();
    assert.equal(output.Cluster.Name, 'HandedOffCluster');
    assert.equal(output.Cluster.Status, 'ACTIVE');
    const messages = lambda.sentBodies
      .slice(before)
      .map((body) => JSON.parse(body) as { checkpoint: { operation: string } });
    assert.ok(messages.length >= 1, 'handed off at least once');
    assert.equal(messages[0]?.checkpoint.operation, 'createCluster');
  });
});
