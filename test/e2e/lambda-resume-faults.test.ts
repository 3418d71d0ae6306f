/**
 * Acceptance (issues 6 and 18, Lambda): what happens to a parked wait when the world changes
 * between invocations: the execution is stopped (the resumer's first heartbeat sees it and cleans
 * up), a hand-back fails (the record is released at once and reported as a batch item failure, so
 * the task still completes, answered once), or Step Functions refuses the answer (it is handed on
 * as an answer and delivered once).
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
    // A visibility timeout far beyond the tests' waits: a record reported failed must come back
    // through the resumer's ChangeMessageVisibility, not by waiting this out.
    lambda = await startLambdaOnLocalStack({ invocationMs: 2_000, visibilityTimeoutMs: 120_000 });
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

  test('a hand-back that fails releases its record at once, not after the visibility timeout, and the task completes, answered once', async () => {
    const { env } = lambda;
    const arn = await env.createStateMachine(
      withLocalCluster(makeDefinition(4_000), env.stack.cluster),
    );
    const sentBefore = lambda.sentBodies.length;
    const failuresBefore = lambda.batchItemFailures.length;
    lambda.startLambdaService();
    const executionArn = await env.startExecution(arn, { jobName: 'requeue-job' });
    await waitUntil('the wait is parked', () => lambda.sentBodies.length > sentBefore);
    // The SDK retries: fail every attempt of the resumer's next hand-back.
    lambda.sqs.faults.failNext('SendMessage', { type: 'ServiceUnavailable', statusCode: 503 }, 10);
    // Well under the 120 s visibility timeout.
    const execution = await env.waitForExecution(executionArn, 20_000);
    await lambda.stopLambdaService();
    // Faults the hand-backs did not use up must not hit the next test's sends.
    lambda.sqs.faults.clear();

    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    assert.equal(JSON.parse(execution.output ?? '{}').metadata.name, 'requeue-job');
    assert.ok(lambda.batchItemFailures.length > failuresBefore, 'a record was reported failed');
    assert.ok(
      lambda.visibilityChanges.some((change) => change.visibilitySeconds === 0),
      'the record was released at once',
    );
    const history = await env.history(executionArn);
    const answers = history.filter((event) => event.type === 'ActivitySucceeded');
    assert.equal(answers.length, 1);
  });

  test("an answer Step Functions refuses past the poller's reserve is handed off and delivered once by the resumer", async () => {
    const { env } = lambda;
    lambda.setInvocationMs(4_000);
    const succeededBefore = lambda.metrics.total('TasksSucceeded');
    const arn = await env.createStateMachine(
      withLocalCluster(makeDefinition(100), env.stack.cluster),
    );
    const sentBefore = lambda.sentBodies.length;
    const answerMessages = () =>
      lambda.sentBodies
        .slice(sentBefore)
        .map(
          (body) =>
            JSON.parse(body) as {
              version: number;
              handOffCount: number;
              answer?: { output?: string };
            },
        )
        .filter((message) => message.version === 2);
    env.stack.sfn.faults.failNext(
      'SendTaskSuccess',
      { type: 'ServiceUnavailable', statusCode: 503 },
      100_000,
    );
    try {
      lambda.startLambdaService();
      const executionArn = await env.startExecution(arn, { jobName: 'answer-job' });
      // The wait is parked; a resumer computes the answer, is refused until its invocation
      // ends and hands the answer on; the next resumer, still refused, hands it on again.
      await waitUntil(
        'the answer is handed on by a second resumer',
        () => answerMessages().length >= 2,
        20_000,
      );
      const sent = lambda.sentBodies.slice(sentBefore).map((body) => JSON.parse(body));
      assert.equal(sent[0]?.version, 1, 'first the park: the wait, once its Job exists');
      assert.equal(sent[0]?.handOffCount, 1);
      const firstAnswerAt = sent.findIndex((message) => message.version === 2);
      assert.equal(
        sent.slice(firstAnswerAt).filter((message) => message.version === 1).length,
        0,
        'once answered, the task is never run again',
      );
      const [first] = answerMessages();
      const refused = await env.history(executionArn);
      assert.equal(refused.filter((event) => event.type === 'ActivitySucceeded').length, 0);

      env.stack.sfn.faults.clear();
      const execution = await env.waitForExecution(executionArn, 20_000);
      await lambda.stopLambdaService();

      assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
      // Exactly what the poller computed.
      assert.equal(execution.output, first?.answer?.output);
      assert.equal(JSON.parse(execution.output ?? '{}').metadata.name, 'answer-job');
      const history = await env.history(executionArn);
      assert.equal(history.filter((event) => event.type === 'ActivitySucceeded').length, 1);
      assert.equal(lambda.metrics.total('TasksSucceeded') - succeededBefore, 1);
    } finally {
      env.stack.sfn.faults.clear();
      await lambda.stopLambdaService();
      lambda.setInvocationMs(2_000);
    }
  });
});
