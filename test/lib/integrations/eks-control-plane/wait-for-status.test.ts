import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { EksServiceError } from '../../../../lib/aws/eks-control-plane.ts';
import { waitForTerminalStatus } from '../../../../lib/integrations/eks-control-plane/wait-for-status.ts';
import { withTimeout } from './support/local-eks.ts';

const logger = new Logger({ serviceName: 'wait-test', logLevel: 'SILENT' });
const throttled = () =>
  new EksServiceError({
    exceptionName: 'ThrottlingException',
    message: 'Rate exceeded',
    statusCode: 429,
  });

/** A describe call that plays `answers` in order (an Error is thrown, a string is a status). */
const scriptedDescribe = (answers: (string | Error)[]) => {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    describe: async () => {
      const answer = answers[Math.min(calls, answers.length - 1)];
      calls += 1;
      if (answer instanceof Error) throw answer;
      return { cluster: { status: answer } };
    },
  };
};

const waitWith = (describe: () => Promise<unknown>, maxConsecutivePollFailures: number) =>
  withTimeout(
    waitForTerminalStatus({
      describe,
      statusOf: (d) => (d as { cluster: { status: string } }).cluster.status,
      rule: {
        successStatuses: ['ACTIVE'],
        failureStatuses: ['FAILED'],
        succeedsWhenNotFound: false,
      },
      pollIntervalMs: 5,
      maxConsecutivePollFailures,
      signal: new AbortController().signal,
      logger,
      resourceLabel: 'Cluster',
      resourceName: 'c',
    }),
    5_000,
  );

describe('waitForTerminalStatus', () => {
  test('describe calls still throttled after the SDK retries are polled again, up to the limit', async () => {
    const script = scriptedDescribe(['CREATING', throttled(), throttled(), 'ACTIVE']);

    const outcome = await waitWith(script.describe, 3);

    assert.equal(outcome.kind, 'reached');
    assert.equal(script.calls, 4);
  });

  test('a wait gives up with the EKS error once the consecutive failure limit is reached', async () => {
    const script = scriptedDescribe(['CREATING', throttled()]);

    await assert.rejects(waitWith(script.describe, 3), { exceptionName: 'ThrottlingException' });
    assert.equal(script.calls, 4);
  });

  test('a non-retryable describe error ends the wait at once', async () => {
    const notFound = new EksServiceError({
      exceptionName: 'ResourceNotFoundException',
      message: 'No cluster found',
      statusCode: 404,
    });
    const script = scriptedDescribe([notFound]);

    await assert.rejects(waitWith(script.describe, 3), {
      exceptionName: 'ResourceNotFoundException',
    });
    assert.equal(script.calls, 1);
  });
});
