/**
 * Acceptance (issue 6, Lambda): what happens to a handed-off task when the world changes between
 * invocations: the execution is stopped (the resumer's first heartbeat sees it and cleans up), or
 * the re-queue fails (the record is reported as a batch item failure, SQS redelivers it, and the
 * task still completes, answered once).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { scriptAnnotation } from '../../infra/local-stack/kube/kubelet/container-script.ts';
import { withLocalCluster } from '../../infra/local-stack/worker-on-local-stack.ts';
import {
  type LambdaOnLocalStack,
  startLambdaOnLocalStack,
} from '../functions/support/lambda-on-local-stack.ts';

const jobsResource = {
  group: 'batch',
  version: 'v1',
  resource: 'jobs',
  kind: 'Job',
  namespaced: true,
} as const;

const makeDefinition = (durationMs: number) => ({
  StartAt: 'Run',
  States: {
    Run: {
      Type: 'Task',
      Resource: 'arn:aws:states:::eks:runJob.sync',
      HeartbeatSeconds: 30,
      Parameters: {
        ClusterName: 'MyCluster',
        CertificateAuthority: 'x',
        Endpoint: 'https://example.invalid',
        Namespace: 'default',
        Job: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { 'name.$': '$.jobName' },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: {
                annotations: { [scriptAnnotation]: JSON.stringify({ durationMs }) },
              },
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'main', image: 'busybox', command: ['true'] }],
              },
            },
          },
        },
      },
      End: true,
    },
  },
});

/** Polls `predicate` every 25 ms; fails after `timeoutMs` so a bug cannot hang the suite. */
const waitUntil = async (what: string, predicate: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('Lambda resumer faults on the local stack', () => {
  let lambda: LambdaOnLocalStack;
  before(async () => {
    lambda = await startLambdaOnLocalStack({ invocationMs: 2_000 });
    await lambda.env.worker.stop({ graceMs: 0 });
  });
  after(() => lambda.close());

  const jobExists = (name: string) =>
    lambda.env.stack.cluster.store
      .list(jobsResource, 'default')
      .items.some((job) => job.metadata.name === name);

  test("an execution stopped while its task waits in the queue: the resumer's first heartbeat drops it and deletes the Job", async () => {
    const { env } = lambda;
    const arn = await env.createStateMachine(
      withLocalCluster(makeDefinition(60_000), env.stack.cluster),
    );
    const sentBefore = lambda.sentBodies.length;
    lambda.startLambdaService();
    const executionArn = await env.startExecution(arn, { jobName: 'stopped-job' });
    await waitUntil('the task is handed off', () => lambda.sentBodies.length > sentBefore);
    await lambda.stopLambdaService();
    assert.ok(jobExists('stopped-job'));

    await env.stopExecution(executionArn);
    const sentAfterStop = lambda.sentBodies.length;
    lambda.startLambdaService();
    await waitUntil('the Job is deleted', () => !jobExists('stopped-job'));
    await lambda.stopLambdaService();

    assert.equal(lambda.sentBodies.length, sentAfterStop, 'not re-queued again');
    const queue = lambda.sqs.inspect.queue(lambda.queueUrl);
    assert.equal(
      (queue?.visible.length ?? 0) + (queue?.inFlight.length ?? 0) + (queue?.delayed.length ?? 0),
      0,
      'the message was deleted',
    );
    assert.equal(lambda.metrics.total('TasksSucceeded'), 0);
  });

  test('a re-queue that fails is redelivered by SQS and the task still completes, answered once', async () => {
    const { env } = lambda;
    const arn = await env.createStateMachine(
      withLocalCluster(makeDefinition(4_000), env.stack.cluster),
    );
    const sentBefore = lambda.sentBodies.length;
    lambda.startLambdaService();
    const executionArn = await env.startExecution(arn, { jobName: 'requeue-job' });
    await waitUntil('the task is handed off', () => lambda.sentBodies.length > sentBefore);
    // The SDK retries: fail every attempt of the resumer's next re-queue.
    lambda.sqs.faults.failNext('SendMessage', { type: 'ServiceUnavailable', statusCode: 503 }, 10);
    const execution = await env.waitForExecution(executionArn, 30_000);
    await lambda.stopLambdaService();

    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    assert.equal(JSON.parse(execution.output ?? '{}').metadata.name, 'requeue-job');
    assert.ok(lambda.batchItemFailures.length >= 1, 'a record was reported failed');
    const history = await env.history(executionArn);
    const answers = history.filter((event) => event.type === 'ActivitySucceeded');
    assert.equal(answers.length, 1);
  });
});
