/**
 * What an operator reads, from the deployed handlers with the real runtime (its Powertools logger
 * and metrics printing to stdout as in Lambda): metrics carry the stage, a cold start is counted,
 * and every log line carries the Lambda request id and the invocation's cold-start flag.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makePollerHandler } from '../../functions/poller.ts';
import { makeLambdaRuntime } from '../../lib/hosts/lambda-runtime.ts';
import type { Integration } from '../../lib/integrations/types.ts';
import { makeCountdownContext, makeScaledConfig } from '../lib/hosts/support/lambda-fakes.ts';
import { FakeActivityApi } from '../lib/worker/support/fake-activity-api.ts';
import { activityArn, withTimeout } from '../lib/worker/support/harness.ts';
import { type JsonLine, withCapturedStdoutJson } from '../support/capture-stdout.ts';

const arn = activityArn('obs-eks-call');
const integration: Integration = {
  activitySuffix: 'eks-call',
  run: async (input) => {
    if ((input as { fail?: boolean }).fail) throw new Error('boom');
    return { ok: true };
  },
};

type Line = JsonLine;

const lambdaContext = (requestId: string) => ({
  ...makeCountdownContext(1_200),
  awsRequestId: requestId,
  functionName: 'eks-activity-worker-qa-poller',
  functionVersion: '$LATEST',
  invokedFunctionArn:
    'arn:aws:lambda:us-east-1:111122223333:function:eks-activity-worker-qa-poller',
  memoryLimitInMB: '512',
});

/** Dimension names of an EMF document (its first dimension set). */
const dimensionsOf = (document: Line): string[] =>
  (document._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]
    ?.Dimensions[0] ?? [];
const metricNamesOf = (document: Line): string[] =>
  (
    document._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }
  ).CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name) ?? [];

describe('Lambda observability: stage dimension, cold start, request id in log lines', () => {
  const initType = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  let first: Line[];
  let second: Line[];

  before(async () => {
    // Lambda sets it for on-demand environments; Powertools counts cold starts only then.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    const api = new FakeActivityApi({ longPollMs: 100 });
    const handler = makePollerHandler(() => ({
      ...makeLambdaRuntime(
        {
          EKS_WORKER_ACTIVITY_ARNS: arn,
          AWS_REGION: 'us-east-1',
          EKS_WORKER_STAGE: 'qa',
          EKS_WORKER_LOG_LEVEL: 'INFO',
        },
        'lambda-poller',
      ),
      // Short invocation windows, and tasks from memory instead of Step Functions.
      config: makeScaledConfig([arn], { stage: 'qa' }),
      activityApi: api,
      integrations: [integration],
    }));
    api.enqueue(arn, { fail: false });
    api.enqueue(arn, { fail: true });
    first = await withCapturedStdoutJson(() =>
      withTimeout(handler({}, lambdaContext('req-1') as never), 5_000),
    );
    api.enqueue(arn, { fail: false });
    second = await withCapturedStdoutJson(() =>
      withTimeout(handler({}, lambdaContext('req-2') as never), 5_000),
    );
  });

  after(() => {
    if (initType === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = initType;
  });

  const emf = (lines: Line[]) => lines.filter((line) => line._aws !== undefined);
  const logs = (lines: Line[]) => lines.filter((line) => line._aws === undefined);

  test('every metric document carries stage=qa next to service, the ErrorName one too', () => {
    const documents = [...emf(first), ...emf(second)];
    assert.ok(documents.length >= 3, `EMF documents: ${documents.length}`);
    for (const document of documents) {
      assert.equal(document.stage, 'qa');
      assert.equal(document.service, 'eks-activity-worker');
      assert.ok(dimensionsOf(document).includes('stage'), JSON.stringify(document._aws));
      assert.ok(dimensionsOf(document).includes('service'));
    }
    const byError = documents.find((document) => document.ErrorName === 'EKS.WorkerError');
    assert.ok(byError, 'a TasksFailed document with the ErrorName dimension');
    assert.deepEqual([...dimensionsOf(byError)].sort(), ['ErrorName', 'service', 'stage']);
  });

  test('a ColdStart metric on the first invocation only, with the function name', () => {
    const coldStarts = (lines: Line[]) =>
      emf(lines).filter((document) => metricNamesOf(document).includes('ColdStart'));
    const [coldStart, ...more] = coldStarts(first);
    assert.ok(coldStart, 'ColdStart emitted on the first invocation');
    assert.equal(more.length, 0);
    assert.equal(coldStart.function_name, 'eks-activity-worker-qa-poller');
    assert.equal(coldStart.stage, 'qa');
    assert.equal(coldStarts(second).length, 0);
  });

  test('every log line carries the request id and cold-start flag of its invocation', () => {
    for (const [lines, requestId, coldStart] of [
      [first, 'req-1', true],
      [second, 'req-2', false],
    ] as const) {
      const lineList = logs(lines);
      assert.ok(
        lineList.some((line) => line.message === 'Task received'),
        'task lines are among them',
      );
      for (const line of lineList) {
        assert.equal(line.function_request_id, requestId, String(line.message));
        assert.equal(line.cold_start, coldStart, `${requestId}: ${String(line.message)}`);
        assert.equal(line.function_name, 'eks-activity-worker-qa-poller');
      }
    }
  });
});
