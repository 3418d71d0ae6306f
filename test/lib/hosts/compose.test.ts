import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeWorker, makeWorkerOptions } from '../../../lib/hosts/compose.ts';
import type { Integration } from '../../../lib/integrations/types.ts';
import { defaultAbortSettleMs, defaultAnswerRetry } from '../../../lib/worker/worker.ts';
import { FakeActivityApi } from '../worker/support/fake-activity-api.ts';
import { activityArn, silentLogger } from '../worker/support/harness.ts';
import { MemoryQueue, makeScaledConfig } from './support/lambda-fakes.ts';

const arn = activityArn('compose-eks-call');
const echo: Integration = { activitySuffix: 'eks-call', run: async (input) => input };
const inMemory = () => ({
  logger: silentLogger(),
  activityApi: new FakeActivityApi(),
  integrations: [echo],
});

describe('composition root', () => {
  test('the worker options come from the configuration, the same for every host', () => {
    const config = makeScaledConfig([arn], { maxConcurrentTasks: 7, cleanupOnAbandon: false });
    for (const host of ['process', 'lambda-poller', 'lambda-resumer', 'local-stack'] as const) {
      const options = makeWorkerOptions(config, host);
      assert.deepEqual(options.activityArns, [arn], host);
      assert.equal(options.workerName, 'lambda-test', host);
      assert.equal(options.maxConcurrentTasks, 7, host);
      assert.equal(options.pollersPerActivity, 1, host);
      assert.equal(options.heartbeatIntervalMs, 1_000, host);
      assert.equal(options.cleanupOnAbandon, false, host);
    }
  });

  test('on Lambda, aborted work and answer retries fit in the hand-off reserve; a process keeps the defaults', () => {
    const config = makeScaledConfig([arn], { handOffReserveMs: 4_000 });
    for (const host of ['lambda-poller', 'lambda-resumer'] as const) {
      const options = makeWorkerOptions(config, host);
      assert.equal(options.abortSettleMs, 2_000, host);
      assert.deepEqual(options.answerRetry, { ...defaultAnswerRetry, maxElapsedMs: 4_000 }, host);
    }
    const processOptions = makeWorkerOptions(config, 'process');
    assert.equal(processOptions.abortSettleMs ?? defaultAbortSettleMs, defaultAbortSettleMs);
    assert.equal(processOptions.answerRetry, undefined);
  });

  test('with a hand-off queue, Lambda hosts hand off tasks and answers, a process tasks only', () => {
    const config = makeScaledConfig([arn]);
    const handOffQueue = new MemoryQueue();
    const lambda = composeWorker(config, 'lambda-poller', { ...inMemory(), handOffQueue });
    const processHost = composeWorker(config, 'process', { ...inMemory(), handOffQueue });
    assert.equal(lambda.handOffQueue, handOffQueue);
    assert.ok(lambda.handOff?.handOffTask);
    assert.ok(lambda.handOff?.handOffAnswer);
    assert.ok(processHost.handOff?.handOffTask);
    assert.equal(processHost.handOff?.handOffAnswer, undefined);
  });

  test('without a hand-off queue there is no hand-off: interrupted tasks fail as interrupted', () => {
    const composition = composeWorker(makeScaledConfig([arn]), 'process', inMemory());
    assert.equal(composition.handOffQueue, undefined);
    assert.equal(composition.handOff, undefined);
  });

  test('what a host brings replaces what the configuration would build', () => {
    const parts = inMemory();
    const composition = composeWorker(makeScaledConfig([arn]), 'lambda-poller', parts);
    assert.equal(composition.activityApi, parts.activityApi);
    assert.equal(composition.logger, parts.logger);
    assert.deepEqual(composition.integrations, [echo]);
    composition.close();
  });

  test('built from the configuration alone, it serves every integration behind the policy', () => {
    const composition = composeWorker(makeScaledConfig([arn]), 'process', {
      logger: silentLogger(),
    });
    try {
      assert.equal(composition.integrations.length, 15);
      assert.ok(composition.integrations.some((i) => i.activitySuffix === 'eks-runJob-sync'));
    } finally {
      composition.close();
    }
  });
});
