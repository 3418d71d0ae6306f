import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorName, TaskFailedError } from '../../../lib/errors.ts';
import { TaskAbortedError } from '../../../lib/integrations/types.ts';
import type { ReceivedTask } from '../../../lib/worker/ports.ts';
import { WorkerConfigurationError } from '../../../lib/worker/resolve-integration.ts';
import { makeNetworkError, makeSfnError } from './support/fake-activity-api.ts';
import {
  activityArn,
  ControlledIntegration,
  delay,
  startTestWorker,
  withTimeout,
} from './support/harness.ts';

describe('poll loop', () => {
  test('a slot is reserved before a poll starts: with 2 slots the third queued task waits', async () => {
    const integration = new ControlledIntegration('eks-call');
    const { api, worker } = startTestWorker([integration], {
      maxConcurrentTasks: 2,
      pollersPerActivity: 3,
    });
    const arn = activityArn('test-eks-call');
    const tokens = [
      api.enqueue(arn, { n: 1 }),
      api.enqueue(arn, { n: 2 }),
      api.enqueue(arn, { n: 3 }),
    ];

    await integration.waitForCalls(2);
    await delay(80);
    assert.equal(integration.calls.length, 2, 'the third task must not start without a slot');
    assert.ok(api.maxPollsInFlight <= 2, `polls in flight were ${api.maxPollsInFlight}`);

    integration.calls[0]?.resolve({ done: 1 });
    await integration.waitForCalls(3);
    integration.calls[1]?.resolve({ done: 2 });
    integration.calls[2]?.resolve({ done: 3 });
    await api.waitForAnswers(3);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.equal(integration.maxRunning, 2);
    assert.deepEqual(
      tokens.map((token) => api.answerFor(token)?.kind),
      ['success', 'success', 'success'],
    );
  });

  test('every received task is answered exactly once', async () => {
    const integration = new ControlledIntegration('eks-call', async (input) => {
      await delay(Math.floor(Math.random() * 10));
      return { echo: input };
    });
    const { api, worker } = startTestWorker([integration], {
      maxConcurrentTasks: 3,
      pollersPerActivity: 2,
    });
    const arn = activityArn('test-eks-call');
    const tokens = Array.from({ length: 25 }, (_, n) => api.enqueue(arn, { n }));

    await api.waitForAnswers(25);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.equal(api.answers.length, 25);
    for (const [n, token] of tokens.entries()) {
      const answer = api.answerFor(token);
      assert.equal(answer?.kind, 'success');
      assert.deepEqual(JSON.parse(answer?.kind === 'success' ? answer.output : ''), {
        echo: { n },
      });
    }
  });

  test('GetActivityTask errors (throttling, network, 5xx, unknown activity) never stop the loop', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({ ok: true }));
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 30 });
    api.failNext(
      'getActivityTask',
      makeSfnError('ThrottlingException', 400),
      makeNetworkError('ECONNRESET'),
      makeSfnError('InternalServerError', 500),
      makeSfnError('ActivityDoesNotExist', 400),
    );
    const { worker } = startTestWorker([integration], {}, { api });
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.equal(api.answerFor(token)?.kind, 'success');
    assert.ok(api.callsOf('getActivityTask').length >= 5);
  });

  test('an activity served through a stage prefix reaches its integration', async () => {
    const call = new ControlledIntegration('eks-call', async () => 'call');
    const runJobSync = new ControlledIntegration('eks-runJob-sync', async () => 'runJob.sync');
    const runJob = new ControlledIntegration('eks-runJob', async () => 'runJob');
    const { api, worker } = startTestWorker([call, runJobSync, runJob], {
      activityArns: [activityArn('prod-eks-runJob-sync'), activityArn('prod-eks-runJob')],
    });
    const syncToken = api.enqueue(activityArn('prod-eks-runJob-sync'), {});
    const plainToken = api.enqueue(activityArn('prod-eks-runJob'), {});

    await api.waitForAnswers(2);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const outputOf = (token: string) => {
      const answer = api.answerFor(token);
      return answer?.kind === 'success' ? JSON.parse(answer.output) : undefined;
    };
    assert.equal(outputOf(syncToken), 'runJob.sync');
    assert.equal(outputOf(plainToken), 'runJob');
    assert.equal(runJobSync.calls[0]?.context.activityName, 'prod-eks-runJob-sync');
  });

  test('an activity that matches no integration stops the worker from starting', () => {
    const integration = new ControlledIntegration('eks-call');
    assert.throws(
      () => startTestWorker([integration], { activityArns: [activityArn('prod-eks-unknown')] }),
      (error: unknown) =>
        error instanceof WorkerConfigurationError &&
        /prod-eks-unknown/.test(error.message) &&
        /eks-call/.test(error.message),
    );
  });
});

describe('task runner', () => {
  test('heartbeats are sent at the configured interval while the task runs', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', async () => {
      await delay(230);
      return {};
    });
    const { api, worker } = startTestWorker([integration], { heartbeatIntervalMs: 40 });
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const beats = api.callsOf('sendTaskHeartbeat');
    assert.ok(beats.length >= 3 && beats.length <= 6, `sent ${beats.length} heartbeats`);
    assert.ok(beats.every((beat) => beat.request.taskToken === token));
    const gapsMs = beats.slice(1).map((beat, index) => beat.atMs - (beats[index]?.atMs ?? 0));
    assert.ok(
      gapsMs.every((gapMs) => gapMs >= 30),
      `gaps ${gapsMs.join(',')}`,
    );
  });

  test('heartbeats go on until the answer is delivered, and stop then', async () => {
    let returnedAtMs = 0;
    const integration = new ControlledIntegration('eks-runJob-sync', async () => {
      await delay(10);
      returnedAtMs = Date.now();
      return { done: true };
    });
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 30 });
    // The answer takes several intervals to get through: ten failures, each retried after up to
    // 40 ms (full jitter), about 200 ms in all.
    api.failNext('sendTaskSuccess', ...Array.from({ length: 10 }, () => makeNetworkError()));
    const { worker } = startTestWorker(
      [integration],
      {
        heartbeatIntervalMs: 20,
        answerRetry: { baseDelayMs: 40, maxDelayMs: 40, maxElapsedMs: 5_000 },
      },
      { api },
    );
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});

    await api.waitForAnswers(1);
    const answeredAtMs = Date.now();
    await delay(80);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.equal(api.answerFor(token)?.kind, 'success');
    const beats = api.callsOf('sendTaskHeartbeat').map((beat) => beat.atMs);
    const whileAnswering = beats.filter((atMs) => atMs > returnedAtMs && atMs <= answeredAtMs);
    assert.ok(whileAnswering.length >= 3, `heartbeats while answering: ${whileAnswering.length}`);
    assert.deepEqual(
      beats.filter((atMs) => atMs > answeredAtMs + 5),
      [],
      'no heartbeat after the answer',
    );
  });

  test('a heartbeat answered TaskTimedOut aborts the task as abandoned and sends no answer', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', (_, context) => {
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    });
    const { api, worker } = startTestWorker([integration], { heartbeatIntervalMs: 20 });
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});
    await integration.waitForCalls(1);
    api.expire(token, 'TaskTimedOut');

    const context = integration.calls[0]?.context;
    await withTimeout(
      new Promise((resolve) => context?.signal.addEventListener('abort', resolve, { once: true })),
    );
    await withTimeout(worker.stop({ graceMs: 0 }));

    const reason = context?.signal.reason;
    assert.ok(reason instanceof TaskAbortedError);
    assert.deepEqual(reason.abortCause, { kind: 'abandoned', sfnError: 'TaskTimedOut' });
    assert.equal(context?.cleanupOnAbandon, true);
    assert.equal(api.callsOf('sendTaskSuccess').length + api.callsOf('sendTaskFailure').length, 0);
  });

  test('transient heartbeat errors are retried and do not disturb the task', async () => {
    const integration = new ControlledIntegration('eks-call', async () => {
      await delay(150);
      return { ok: true };
    });
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 30 });
    api.failNext(
      'sendTaskHeartbeat',
      makeSfnError('ThrottlingException', 400),
      makeNetworkError(),
      makeSfnError('ServiceUnavailable', 503),
    );
    const { worker } = startTestWorker([integration], { heartbeatIntervalMs: 30 }, { api });
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.equal(api.answerFor(token)?.kind, 'success');
    assert.ok(api.callsOf('sendTaskHeartbeat').length >= 4);
  });

  test('an input that is not JSON fails with EKS.InvalidParameters without running', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({}));
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-call'), '{not json');

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const answer = api.answerFor(token);
    assert.equal(answer?.kind, 'failure');
    assert.equal(answer?.kind === 'failure' ? answer.error : '', ErrorName.InvalidParameters);
    assert.equal(integration.calls.length, 0);
  });

  test('input holding big integers reaches the integration exact; too deep to read is refused', async () => {
    const integration = new ControlledIntegration('eks-call', async (input) => input);
    const { api, worker } = startTestWorker([integration]);
    const exact = api.enqueue(activityArn('test-eks-call'), '{"n":9007199254740993}');
    const deep = `${'['.repeat(50_000)}12345678901234567890${']'.repeat(50_000)}`;
    const tooDeep = api.enqueue(activityArn('test-eks-call'), deep);

    await api.waitForAnswers(2);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.deepEqual(api.answerFor(exact), {
      kind: 'success',
      taskToken: exact,
      output: '{"n":9007199254740993}',
    });
    const refused = api.answerFor(tooDeep);
    assert.ok(refused?.kind === 'failure');
    assert.equal(refused.error, ErrorName.InvalidParameters);
    assert.match(refused.cause, /nested too deeply/);
    assert.equal(integration.calls.length, 1);
  });

  test('a TaskFailedError fails the task with its name and its cause as JSON', async () => {
    const integration = new ControlledIntegration('eks-call', async () => {
      throw new TaskFailedError('EKS.404', 'not found', {
        failureCause: { StatusCode: 404, StatusText: 'Not Found' },
      });
    });
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const answer = api.answerFor(token);
    assert.ok(answer?.kind === 'failure');
    assert.equal(answer.error, 'EKS.404');
    assert.deepEqual(JSON.parse(answer.cause), { StatusCode: 404, StatusText: 'Not Found' });
  });

  test('an unexpected throw fails the task with EKS.WorkerError, not the stringified error', async () => {
    const integration = new ControlledIntegration('eks-call', async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const answer = api.answerFor(token);
    assert.ok(answer?.kind === 'failure');
    assert.equal(answer.error, 'EKS.WorkerError');
    assert.equal(JSON.parse(answer.cause).errorType, 'TypeError');
  });

  test('an output over 262,144 bytes of UTF-8 fails with EKS.OutputTooLarge', async () => {
    // 70,000 three-byte characters: 210,000 bytes, under the limit in characters, over in bytes.
    const integration = new ControlledIntegration('eks-call', async () => ({
      text: '€'.repeat(70_000),
      more: '€'.repeat(20_000),
    }));
    integration.outputTooLargeAdvice = "Ask for less: use 'limit'.";
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const answer = api.answerFor(token);
    assert.ok(answer?.kind === 'failure');
    assert.equal(answer.error, ErrorName.OutputTooLarge);
    assert.match(JSON.parse(answer.cause).message, /262144\. Ask for less: use 'limit'\.$/);
  });
});

describe('answering', () => {
  test('transient SendTaskSuccess errors are retried until the answer is delivered', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({ ok: 1 }));
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 30 });
    api.failNext(
      'sendTaskSuccess',
      makeSfnError('ThrottlingException', 400),
      makeSfnError('InternalFailure', 500),
      makeNetworkError('ETIMEDOUT'),
      makeSfnError('ThrottlingException', 400),
    );
    const { worker } = startTestWorker([integration], {}, { api });
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    assert.equal(api.callsOf('sendTaskSuccess').length, 5);
    assert.deepEqual(api.answerFor(token), {
      kind: 'success',
      taskToken: token,
      output: '{"ok":1}',
    });
  });

  test('an answer refused with TaskDoesNotExist is not retried', async () => {
    const integration = new ControlledIntegration('eks-call');
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-call'), {});
    await integration.waitForCalls(1);
    api.expire(token, 'TaskDoesNotExist');
    integration.calls[0]?.resolve({});

    await withTimeout(worker.stop({ graceMs: 1_000 }));

    assert.equal(api.callsOf('sendTaskSuccess').length, 1);
    assert.equal(api.answers.length, 0);
  });

  test('InvalidOutput from SendTaskSuccess is answered with a failure instead', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({ ok: 1 }));
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 30 });
    api.failNext('sendTaskSuccess', makeSfnError('InvalidOutput', 400));
    const { worker } = startTestWorker([integration], {}, { api });
    const token = api.enqueue(activityArn('test-eks-call'), {});

    await api.waitForAnswers(1);
    await withTimeout(worker.stop({ graceMs: 0 }));

    const answer = api.answerFor(token);
    assert.equal(answer?.kind, 'failure');
    assert.equal(answer?.kind === 'failure' ? answer.error : '', 'EKS.WorkerError');
  });
});

describe('graceful shutdown', () => {
  test('a running task that finishes within the grace period is answered with its result', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', async () => {
      await delay(100);
      return { finished: true };
    });
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});
    await integration.waitForCalls(1);

    await withTimeout(worker.stop({ graceMs: 1_000 }));

    assert.deepEqual(api.answerFor(token), {
      kind: 'success',
      taskToken: token,
      output: '{"finished":true}',
    });
  });

  test('a task still running when the grace period ends fails with EKS.WorkerInterrupted', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', (_, context) => {
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    });
    const { api, worker } = startTestWorker([integration]);
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});
    await integration.waitForCalls(1);

    await withTimeout(worker.stop({ graceMs: 50 }));

    const reason = integration.calls[0]?.context.signal.reason;
    assert.ok(reason instanceof TaskAbortedError);
    assert.deepEqual(reason.abortCause, { kind: 'shutdown' });
    const answer = api.answerFor(token);
    assert.equal(answer?.kind, 'failure');
    assert.equal(answer?.kind === 'failure' ? answer.error : '', ErrorName.WorkerInterrupted);
  });

  test('a task still running when the grace period ends is handed off when the hook accepts it', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', (_, context) => {
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    });
    const handedOff: ReceivedTask[] = [];
    const { api, worker } = startTestWorker(
      [integration],
      {},
      {
        handOff: {
          handOffTask: async (task) => {
            handedOff.push(task);
            return true;
          },
        },
      },
    );
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), { Job: 'x' });
    await integration.waitForCalls(1);

    await withTimeout(worker.stop({ graceMs: 50 }));

    assert.deepEqual(handedOff, [
      {
        activityArn: activityArn('test-eks-runJob-sync'),
        activityName: 'test-eks-runJob-sync',
        taskToken: token,
        input: '{"Job":"x"}',
        // The poll that received it (its workerName is in the execution history).
        poll: handedOff[0]?.poll,
      },
    ]);
    assert.match(handedOff[0]?.poll?.workerName ?? '', /^test-worker\/[0-9a-f]{12}$/);
    assert.equal(api.answers.length, 0);
  });

  test('a task is failed as interrupted when the hand-off hook declines it', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', (_, context) => {
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    });
    const { api, worker } = startTestWorker(
      [integration],
      {},
      { handOff: { handOffTask: async () => false } },
    );
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});
    await integration.waitForCalls(1);

    await withTimeout(worker.stop({ graceMs: 20 }));

    const answer = api.answerFor(token);
    assert.equal(answer?.kind === 'failure' ? answer.error : '', ErrorName.WorkerInterrupted);
  });

  test('an integration that ignores its abort is left after abortSettleMs and the task interrupted', async () => {
    const integration = new ControlledIntegration('eks-runJob-sync', () => new Promise(() => {}));
    const { api, worker } = startTestWorker([integration], { abortSettleMs: 30 });
    const token = api.enqueue(activityArn('test-eks-runJob-sync'), {});
    await integration.waitForCalls(1);

    await withTimeout(worker.stop({ graceMs: 20 }), 1_000);

    const answer = api.answerFor(token);
    assert.equal(answer?.kind === 'failure' ? answer.error : '', ErrorName.WorkerInterrupted);
  });

  test('stop waits for an in-flight poll, and a task it returns during the grace period is run and answered', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({ late: true }));
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 400 });
    const { worker } = startTestWorker([integration], {}, { api });
    await withTimeout(
      (async () => {
        while (api.pollsInFlight === 0) await delay(5);
      })(),
    );

    const stopping = worker.stop({ graceMs: 1_000 });
    await delay(30);
    const token = api.enqueue(activityArn('test-eks-call'), {});
    await withTimeout(stopping);

    assert.equal(api.pollsInFlight, 0);
    assert.deepEqual(api.answerFor(token), {
      kind: 'success',
      taskToken: token,
      output: '{"late":true}',
    });
    assert.equal(api.callsOf('getActivityTask').length, 1, 'no poll may start after stop');
  });

  test('a task an in-flight poll returns after the grace period is failed as interrupted, not run', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({}));
    const { FakeActivityApi } = await import('./support/fake-activity-api.ts');
    const api = new FakeActivityApi({ longPollMs: 400 });
    const { worker } = startTestWorker([integration], {}, { api });
    await withTimeout(
      (async () => {
        while (api.pollsInFlight === 0) await delay(5);
      })(),
    );

    const stopping = worker.stop({ graceMs: 10 });
    await delay(50);
    const token = api.enqueue(activityArn('test-eks-call'), {});
    await withTimeout(stopping);

    assert.equal(integration.calls.length, 0);
    const answer = api.answerFor(token);
    assert.equal(answer?.kind === 'failure' ? answer.error : '', ErrorName.WorkerInterrupted);
  });
});
