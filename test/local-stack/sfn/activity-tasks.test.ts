import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ActivityWorkerLimitExceeded,
  GetActivityTaskCommand,
  GetExecutionHistoryCommand,
  InvalidOutput,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
  ValidationException,
} from '@aws-sdk/client-sfn';
import type { LocalStepFunctions } from '../../../infra/local-stack/sfn/server.ts';
import {
  createActivity,
  createStateMachine,
  makeClient,
  rejectsWith,
  singleTaskMachine,
  startExecution,
  startTestStepFunctions,
  takeTask,
  testHoldMs,
  waitForEnd,
} from './support.ts';

describe('local Step Functions: activity tasks', () => {
  let sfn: LocalStepFunctions;
  let client: SFNClient;
  before(async () => {
    sfn = await startTestStepFunctions();
    client = makeClient(sfn.endpoint);
  });
  after(async () => {
    client.destroy();
    await sfn.close();
  });

  /** An execution whose single task a worker has taken. */
  const startAndTake = async (state: Record<string, unknown> = {}, input: unknown = { n: 1 }) => {
    const activityArn = await createActivity(client);
    const machineArn = await createStateMachine(client, singleTaskMachine(activityArn, state));
    const executionArn = await startExecution(client, machineArn, input);
    const task = await takeTask(client, activityArn);
    return { activityArn, executionArn, ...task };
  };

  test('GetActivityTask answers an empty result after the hold time when no task comes', async () => {
    const activityArn = await createActivity(client);
    const startedMs = Date.now();
    const result = await client.send(new GetActivityTaskCommand({ activityArn }));
    const heldMs = Date.now() - startedMs;
    assert.equal(result.taskToken, undefined);
    assert.equal(result.input, undefined);
    assert.ok(heldMs >= testHoldMs - 20, `held ${heldMs} ms`);
  });

  test('a held poll receives a task scheduled while it waits', async () => {
    const activityArn = await createActivity(client);
    const slowServer = await startTestStepFunctions({ longPollHoldMs: 5000 });
    const slowClient = makeClient(slowServer.endpoint);
    try {
      const arn = await createActivity(slowClient);
      const poll = slowClient.send(
        new GetActivityTaskCommand({ activityArn: arn, workerName: 'w1' }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const machineArn = await createStateMachine(slowClient, singleTaskMachine(arn));
      await startExecution(slowClient, machineArn, { hello: 'world' });
      const task = await poll;
      assert.ok(task.taskToken);
      assert.deepEqual(JSON.parse(task.input ?? ''), { hello: 'world' });
    } finally {
      slowClient.destroy();
      await slowServer.close();
    }
    assert.ok(activityArn);
  });

  test('the task input is the state effective input after InputPath and Parameters', async () => {
    const { input } = await startAndTake(
      { InputPath: '$.job', Parameters: { 'Name.$': '$.name', Fixed: 1 } },
      { job: { name: 'pi' }, other: true },
    );
    assert.deepEqual(JSON.parse(input), { Name: 'pi', Fixed: 1 });
  });

  test('each task token is handed out exactly once', async () => {
    const activityArn = await createActivity(client);
    const machineArn = await createStateMachine(client, singleTaskMachine(activityArn));
    await startExecution(client, machineArn);
    const polls = await Promise.all(
      [1, 2, 3].map((i) =>
        client.send(new GetActivityTaskCommand({ activityArn, workerName: `w${i}` })),
      ),
    );
    const tokens = polls.map((p) => p.taskToken).filter((t) => t !== undefined);
    assert.equal(tokens.length, 1);
  });

  test('task tokens are long and unguessable (distinct per task)', async () => {
    const first = await startAndTake();
    const second = await startAndTake();
    assert.notEqual(first.taskToken, second.taskToken);
    assert.ok(first.taskToken.length >= 100);
  });

  test('the worker name is recorded in the ActivityStarted event', async () => {
    const activityArn = await createActivity(client);
    const machineArn = await createStateMachine(client, singleTaskMachine(activityArn));
    const executionArn = await startExecution(client, machineArn);
    await takeTask(client, activityArn, 'worker-7');
    const { events } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    const started = events?.find((e) => e.type === 'ActivityStarted');
    assert.equal(started?.activityStartedEventDetails?.workerName, 'worker-7');
  });

  test('SendTaskSuccess ends the state with the output and the execution SUCCEEDED', async () => {
    const { executionArn, taskToken } = await startAndTake();
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{"done":true}' }));
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(execution.output ?? ''), { done: true });
  });

  test('SendTaskSuccess with output that is not JSON raises InvalidOutput', async () => {
    const { taskToken } = await startAndTake();
    await assert.rejects(
      client.send(new SendTaskSuccessCommand({ taskToken, output: '{nope' })),
      InvalidOutput,
    );
  });

  test('SendTaskSuccess accepts exactly 262,144 bytes of output', async () => {
    const { taskToken } = await startAndTake();
    const output = JSON.stringify('x'.repeat(262_144 - 2));
    await client.send(new SendTaskSuccessCommand({ taskToken, output }));
  });

  test('SendTaskSuccess refuses output over 262,144 UTF-8 bytes even when under that in characters', async () => {
    const { taskToken } = await startAndTake();
    // 100,000 euro signs: 100,002 characters but 300,002 bytes of UTF-8.
    const output = JSON.stringify('€'.repeat(100_000));
    const error = await rejectsWith(
      client.send(new SendTaskSuccessCommand({ taskToken, output })),
      'ValidationException',
    );
    assert.match(
      error.message,
      /Value at 'output' failed to satisfy constraint: Member must have length less than or equal to 262144/,
    );
  });

  test('SendTaskFailure refuses an error longer than 256 characters', async () => {
    const { taskToken } = await startAndTake();
    const error = await rejectsWith(
      client.send(new SendTaskFailureCommand({ taskToken, error: 'E'.repeat(257), cause: 'c' })),
      'ValidationException',
    );
    assert.match(
      error.message,
      /^1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256$/,
    );
  });

  test('SendTaskFailure refuses a cause longer than 32,768 characters', async () => {
    const { taskToken } = await startAndTake();
    await assert.rejects(
      client.send(new SendTaskFailureCommand({ taskToken, error: 'E', cause: 'c'.repeat(32_769) })),
      (error: Error) => error instanceof ValidationException && /'cause'/.test(error.message),
    );
  });

  test('SendTaskFailure at the limits fails the execution with that error and cause', async () => {
    const { executionArn, taskToken } = await startAndTake();
    const error = `EKS.${'E'.repeat(252)}`;
    const cause = 'c'.repeat(32_768);
    await client.send(new SendTaskFailureCommand({ taskToken, error, cause }));
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, error);
    assert.equal(execution.cause, cause);
  });

  test('a second answer to the same token is refused with TaskTimedOut', async () => {
    const { taskToken } = await startAndTake();
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }));
    const error = await rejectsWith(
      client.send(new SendTaskFailureCommand({ taskToken, error: 'Late' })),
      'TaskTimedOut',
    );
    assert.equal(error.message, "Task Timed Out: 'Provided task does not exist anymore'");
    await assert.rejects(client.send(new SendTaskHeartbeatCommand({ taskToken })), TaskTimedOut);
  });

  test('a malformed token is refused with InvalidToken', async () => {
    await assert.rejects(
      client.send(new SendTaskHeartbeatCommand({ taskToken: 'garbage' })),
      InvalidToken,
    );
  });

  test('a well-formed token that was never issued is refused with TaskDoesNotExist', async () => {
    const { taskToken } = await startAndTake();
    const forged = `${taskToken.slice(0, -4)}${taskToken.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await assert.rejects(
      client.send(new SendTaskSuccessCommand({ taskToken: forged, output: '{}' })),
      TaskDoesNotExist,
    );
  });

  test('SendTaskHeartbeat on a running task succeeds', async () => {
    const { taskToken } = await startAndTake({ HeartbeatSeconds: 5 });
    await client.send(new SendTaskHeartbeatCommand({ taskToken }));
  });

  test('pollers beyond the per-activity limit get ActivityWorkerLimitExceeded', async () => {
    const limited = await startTestStepFunctions({ maxPollersPerActivity: 2, longPollHoldMs: 400 });
    const limitedClient = makeClient(limited.endpoint);
    try {
      const activityArn = await createActivity(limitedClient);
      const held = [1, 2].map(() =>
        limitedClient.send(new GetActivityTaskCommand({ activityArn })),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await assert.rejects(
        limitedClient.send(new GetActivityTaskCommand({ activityArn })),
        ActivityWorkerLimitExceeded,
      );
      await Promise.all(held);
    } finally {
      limitedClient.destroy();
      await limited.close();
    }
  });

  test('throttling, when on, refuses GetActivityTask and SendTask* beyond the shared bucket', async () => {
    const throttled = await startTestStepFunctions({ longPollHoldMs: 50 });
    const throttledClient = makeClient(throttled.endpoint);
    try {
      const activityArn = await createActivity(throttledClient);
      throttled.throttling.enable({ burst: 2, refillPerSecond: 0.001 });
      await throttledClient.send(new GetActivityTaskCommand({ activityArn }));
      await assert.rejects(
        throttledClient.send(new SendTaskHeartbeatCommand({ taskToken: 'x' })),
        InvalidToken,
      );
      const error = await rejectsWith(
        throttledClient.send(new GetActivityTaskCommand({ activityArn })),
        'ThrottlingException',
      );
      assert.equal(error.message, 'Rate exceeded');
      throttled.throttling.disable();
      await throttledClient.send(new GetActivityTaskCommand({ activityArn }));
    } finally {
      throttledClient.destroy();
      await throttled.close();
    }
  });

  test('throttling refills at the configured rate', async () => {
    const throttled = await startTestStepFunctions({
      longPollHoldMs: 10,
      throttling: { burst: 1, refillPerSecond: 10 },
    });
    const throttledClient = makeClient(throttled.endpoint);
    try {
      const activityArn = await createActivity(throttledClient);
      await throttledClient.send(new GetActivityTaskCommand({ activityArn }));
      await rejectsWith(
        throttledClient.send(new GetActivityTaskCommand({ activityArn })),
        'ThrottlingException',
      );
      await new Promise((resolve) => setTimeout(resolve, 150));
      await throttledClient.send(new GetActivityTaskCommand({ activityArn }));
    } finally {
      throttledClient.destroy();
      await throttled.close();
    }
  });

  test('close answers held polls empty at once', async () => {
    const closing = await startTestStepFunctions({ longPollHoldMs: 30_000 });
    const closingClient = makeClient(closing.endpoint);
    try {
      const activityArn = await createActivity(closingClient);
      const poll = closingClient.send(new GetActivityTaskCommand({ activityArn }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const startedMs = Date.now();
      await closing.close();
      const result = await poll;
      assert.equal(result.taskToken, undefined);
      assert.ok(Date.now() - startedMs < 1000);
    } finally {
      closingClient.destroy();
    }
  });

  test('an injected fault answers the next call with that error', async () => {
    const activityArn = await createActivity(client);
    sfn.faults.failNext('GetActivityTask', {
      type: 'ServiceUnavailable',
      message: 'down',
      statusCode: 503,
    });
    await rejectsWith(
      client.send(new GetActivityTaskCommand({ activityArn })),
      'ServiceUnavailable',
    );
    const next = await client.send(new GetActivityTaskCommand({ activityArn }));
    assert.equal(next.taskToken, undefined);
  });
});
