import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createLocalFunction } from '../../../infra/local-stack/lambda/local-function.ts';
import { collectLogs } from './support.ts';

// Nothing listens on port 9: an empty batch makes no AWS call, so none is needed.
const unreachable = 'http://127.0.0.1:9';

describe('local Lambda: the project resumer in a sandbox', () => {
  const logs = collectLogs();
  const fn = createLocalFunction({
    functionName: 'resumer',
    handler: { modulePath: 'functions/resumer.ts', exportName: 'handler' },
    timeoutMs: 10_000,
    memorySizeMb: 512,
    environment: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIALOCALADMIN000001',
      AWS_SECRET_ACCESS_KEY: 'unused',
      AWS_ENDPOINT_URL_SFN: unreachable,
      AWS_ENDPOINT_URL_SQS: unreachable,
      AWS_ENDPOINT_URL_EKS: unreachable,
      EKS_WORKER_ACTIVITY_ARNS: 'arn:aws:states:us-east-1:123456789012:activity:eks-runJob-sync',
      EKS_WORKER_HANDOFF_QUEUE_URL: `${unreachable}/123456789012/handoff`,
    },
    logs: { onLine: logs.onLine },
  });
  after(() => fn.close());

  test('functions/resumer.ts handler builds its runtime from the environment and answers', async () => {
    const result = await fn.invoke({ Records: [] });
    assert.equal(result.status, 'succeeded', JSON.stringify(result));
    assert.deepEqual(result.status === 'succeeded' && result.payload, { batchItemFailures: [] });
    // Powertools' logger in the sandbox reads the Lambda context it was given.
    const policy = logs.json('Policy in force')[0];
    assert.equal(policy?.function_name, 'resumer');
    assert.equal(policy?.function_request_id, result.requestId);
    assert.equal(policy?.function_memory_size, '512');
  });
});
