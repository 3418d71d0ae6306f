import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  GetExecutionHistoryCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { LocalStepFunctions } from '../../../infra/local-stack/sfn/server.ts';
import {
  createActivity,
  createStateMachine,
  makeClient,
  singleTaskMachine,
  startExecution,
  startTestStepFunctions,
  takeTask,
  waitForEnd,
} from './support.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local Step Functions: task timeouts and stops', { concurrency: true }, () => {
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

  const startWith = async (definition: (activityArn: string) => unknown) => {
    const activityArn = await createActivity(client);
    const executionArn = await startExecution(
      client,
      await createStateMachine(client, definition(activityArn)),
    );
    return { activityArn, executionArn };
  };

  test('the heartbeat clock starts when a worker takes the task, not when it is scheduled', async () => {
    const { activityArn, executionArn } = await startWith((arn) =>
      singleTaskMachine(arn, { HeartbeatSeconds: 1 }),
    );
    await sleep(1300);
    const { taskToken } = await takeTask(client, activityArn);
    await client.send(new SendTaskHeartbeatCommand({ taskToken }));
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }));
    assert.equal((await waitForEnd(client, executionArn)).status, 'SUCCEEDED');
  });

  test('a missed heartbeat fails the state with States.HeartbeatTimeout and the worker gets TaskTimedOut', async () => {
    const { activityArn, executionArn } = await startWith((arn) =>
      singleTaskMachine(arn, { HeartbeatSeconds: 1 }),
    );
    const { taskToken } = await takeTask(client, activityArn);
    await sleep(1200);
    await assert.rejects(client.send(new SendTaskHeartbeatCommand({ taskToken })), TaskTimedOut);
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'States.HeartbeatTimeout');
    const { events = [] } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    const timedOut = events.find((e) => e.type === 'ActivityTimedOut');
    assert.equal(timedOut?.activityTimedOutEventDetails?.error, 'States.HeartbeatTimeout');
  });

  test('heartbeats keep a task alive past HeartbeatSeconds', async () => {
    const { activityArn, executionArn } = await startWith((arn) =>
      singleTaskMachine(arn, { HeartbeatSeconds: 1 }),
    );
    const { taskToken } = await takeTask(client, activityArn);
    for (let i = 0; i < 3; i++) {
      await sleep(500);
      await client.send(new SendTaskHeartbeatCommand({ taskToken }));
    }
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }));
    assert.equal((await waitForEnd(client, executionArn)).status, 'SUCCEEDED');
  });

  test('TimeoutSeconds ends the task despite heartbeats, with States.Timeout, and the worker gets TaskTimedOut', async () => {
    const { activityArn, executionArn } = await startWith((arn) =>
      singleTaskMachine(arn, { HeartbeatSeconds: 1, TimeoutSeconds: 1 }),
    );
    const { taskToken } = await takeTask(client, activityArn);
    await sleep(600);
    await client.send(new SendTaskHeartbeatCommand({ taskToken }));
    await sleep(600);
    await assert.rejects(client.send(new SendTaskHeartbeatCommand({ taskToken })), TaskTimedOut);
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'States.Timeout');
  });

  test('a Catch on States.Timeout also catches a missed heartbeat, as in AWS', async () => {
    const { activityArn, executionArn } = await startWith((arn) => ({
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: arn,
          HeartbeatSeconds: 1,
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    }));
    await takeTask(client, activityArn);
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'SUCCEEDED');
    assert.equal(JSON.parse(execution.output ?? '').Error, 'States.HeartbeatTimeout');
  });

  test('States.TaskFailed does not catch a timeout, as in AWS', async () => {
    const { activityArn, executionArn } = await startWith((arn) => ({
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: arn,
          HeartbeatSeconds: 1,
          Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    }));
    await takeTask(client, activityArn);
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'States.HeartbeatTimeout');
  });

  test('a Retry on States.HeartbeatTimeout schedules the task again', async () => {
    const { activityArn, executionArn } = await startWith((arn) =>
      singleTaskMachine(arn, {
        HeartbeatSeconds: 1,
        Retry: [{ ErrorEquals: ['States.HeartbeatTimeout'], IntervalSeconds: 0, MaxAttempts: 1 }],
      }),
    );
    const first = await takeTask(client, activityArn);
    const second = await takeTask(client, activityArn);
    assert.notEqual(second.taskToken, first.taskToken);
    await client.send(
      new SendTaskSuccessCommand({ taskToken: second.taskToken, output: '{"retried":true}' }),
    );
    const execution = await waitForEnd(client, executionArn);
    assert.deepEqual(JSON.parse(execution.output ?? ''), { retried: true });
  });

  test('StopExecution reaches a worker heartbeating its task as TaskTimedOut', async () => {
    const { activityArn, executionArn } = await startWith((arn) =>
      singleTaskMachine(arn, { HeartbeatSeconds: 5 }),
    );
    const { taskToken } = await takeTask(client, activityArn);
    await client.send(new SendTaskHeartbeatCommand({ taskToken }));
    await client.send(new StopExecutionCommand({ executionArn }));
    await assert.rejects(client.send(new SendTaskHeartbeatCommand({ taskToken })), TaskTimedOut);
    await assert.rejects(
      client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' })),
      TaskTimedOut,
    );
  });

  test('a state machine TimeoutSeconds ends the execution TIMED_OUT and closes its task', async () => {
    const { activityArn, executionArn } = await startWith((arn) => ({
      TimeoutSeconds: 1,
      ...singleTaskMachine(arn),
    }));
    const { taskToken } = await takeTask(client, activityArn);
    const execution = await waitForEnd(client, executionArn, 3000);
    assert.equal(execution.status, 'TIMED_OUT');
    await assert.rejects(client.send(new SendTaskHeartbeatCommand({ taskToken })), TaskTimedOut);
  });
});
