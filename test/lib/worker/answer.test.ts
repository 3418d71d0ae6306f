import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sendAnswer } from '../../../lib/worker/answer.ts';
import { systemClock } from '../../../lib/worker/ports.ts';
import { defaultAnswerRetry } from '../../../lib/worker/worker.ts';
import { FakeActivityApi, makeSfnError } from './support/fake-activity-api.ts';
import { silentLogger, withTimeout } from './support/harness.ts';

const unavailable = (count: number) =>
  Array.from({ length: count }, () => makeSfnError('ServiceUnavailable', 503));

const setUp = () => {
  const api = new FakeActivityApi();
  const handedOff: unknown[] = [];
  const stop = new AbortController();
  const options = {
    activityApi: api,
    taskToken: 'token-1',
    retry: { ...defaultAnswerRetry, baseDelayMs: 20, maxDelayMs: 50 },
    clock: systemClock,
    random: () => 0.5,
    logger: silentLogger(),
  };
  const handOff = (accept: boolean | 'throw') => ({
    signal: stop.signal,
    handOffAnswer: async (outcome: unknown) => {
      if (accept === 'throw') throw new Error('queue down');
      handedOff.push(outcome);
      return accept;
    },
  });
  return { api, handedOff, stop, options, handOff };
};

describe('answer hand-off', () => {
  test('an answer still failing when the hand-off signal aborts is handed off, not given up', async () => {
    const { api, handedOff, stop, options, handOff } = setUp();
    api.failNext('sendTaskSuccess', ...unavailable(1_000));
    setTimeout(() => stop.abort(), 150);
    const result = await withTimeout(
      sendAnswer({ kind: 'success', output: '{"a":1}' }, { ...options, handOff: handOff(true) }),
    );
    assert.equal(result, 'handed-off');
    assert.deepEqual(handedOff, [{ kind: 'success', output: '{"a":1}' }]);
    assert.equal(api.answers.length, 0);
  });

  test('with the signal already aborted one attempt is made before handing off', async () => {
    const { api, handedOff, stop, options, handOff } = setUp();
    stop.abort();
    api.failNext('sendTaskFailure', ...unavailable(5));
    const failure = { kind: 'failure', error: 'EKS.JobFailed', cause: '{}' } as const;
    const result = await withTimeout(sendAnswer(failure, { ...options, handOff: handOff(true) }));
    assert.equal(result, 'handed-off');
    assert.equal(api.callsOf('sendTaskFailure').length, 1);
    assert.deepEqual(handedOff, [failure]);
  });

  test('an answer that gets through before the signal is delivered and not handed off', async () => {
    const { api, handedOff, options, handOff } = setUp();
    api.failNext('sendTaskSuccess', ...unavailable(2));
    const result = await withTimeout(
      sendAnswer({ kind: 'success', output: '{}' }, { ...options, handOff: handOff(true) }),
    );
    assert.equal(result, 'delivered');
    assert.equal(api.answers.length, 1);
    assert.equal(handedOff.length, 0);
  });

  test('retries running out before the signal also hand the answer off', async () => {
    const { api, handedOff, options, handOff } = setUp();
    api.failNext('sendTaskSuccess', ...unavailable(1_000));
    const result = await withTimeout(
      sendAnswer(
        { kind: 'success', output: '{}' },
        { ...options, retry: { ...options.retry, maxElapsedMs: 100 }, handOff: handOff(true) },
      ),
    );
    assert.equal(result, 'handed-off');
    assert.equal(handedOff.length, 1);
  });

  test('a hand-off that throws leaves the answer given up', async () => {
    const { api, stop, options, handOff } = setUp();
    stop.abort();
    api.failNext('sendTaskSuccess', ...unavailable(1));
    const result = await withTimeout(
      sendAnswer({ kind: 'success', output: '{}' }, { ...options, handOff: handOff('throw') }),
    );
    assert.equal(result, 'gave-up');
  });

  test('a permanent refusal is not handed off', async () => {
    const { api, handedOff, stop, options, handOff } = setUp();
    stop.abort();
    api.failNext('sendTaskSuccess', makeSfnError('AccessDeniedException', 400));
    const result = await withTimeout(
      sendAnswer({ kind: 'success', output: '{}' }, { ...options, handOff: handOff(true) }),
    );
    assert.equal(result, 'gave-up');
    assert.equal(handedOff.length, 0);
  });
});
