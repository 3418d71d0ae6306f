import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidOutput,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { maxJsonDepth } from '../../../infra/local-stack/sfn/json-depth.ts';
import type { LocalStepFunctions } from '../../../infra/local-stack/sfn/server.ts';
import {
  createActivity,
  createStateMachine,
  makeClient,
  roleArn,
  singleTaskMachine,
  startExecution,
  startTestStepFunctions,
  takeTask,
  uniqueName,
  waitForEnd,
} from './support.ts';

describe('local Step Functions: state machines and executions', () => {
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

  test('CreateStateMachine refuses a definition that is not JSON', async () => {
    await assert.rejects(
      client.send(
        new CreateStateMachineCommand({ name: uniqueName('m'), definition: '{', roleArn }),
      ),
      InvalidDefinition,
    );
  });

  test('CreateStateMachine refuses a definition without StartAt and States', async () => {
    await assert.rejects(
      client.send(
        new CreateStateMachineCommand({
          name: uniqueName('m'),
          definition: '{"Comment":"x"}',
          roleArn,
        }),
      ),
      InvalidDefinition,
    );
  });

  test('CreateStateMachine refuses a transition to a missing state', async () => {
    const definition = JSON.stringify({
      StartAt: 'A',
      States: { A: { Type: 'Pass', Next: 'Nowhere' } },
    });
    const error = await client
      .send(new CreateStateMachineCommand({ name: uniqueName('m'), definition, roleArn }))
      .catch((e: Error) => e);
    assert.ok(error instanceof InvalidDefinition);
    assert.match(error.message, /MISSING_TRANSITION_TARGET/);
  });

  test('full definition validation, when on, uses the interpreter validator', async () => {
    const strict = await startTestStepFunctions({ fullDefinitionValidation: true });
    const strictClient = makeClient(strict.endpoint);
    try {
      const definition = JSON.stringify({
        StartAt: 'A',
        States: { A: { Type: 'Pass', End: true, Bogus: 1 } },
      });
      await assert.rejects(
        strictClient.send(
          new CreateStateMachineCommand({ name: uniqueName('m'), definition, roleArn }),
        ),
        InvalidDefinition,
      );
    } finally {
      strictClient.destroy();
      await strict.close();
    }
  });

  test('DescribeStateMachine returns the definition, role and type', async () => {
    const definition = { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } };
    const stateMachineArn = await createStateMachine(client, definition);
    const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn }));
    assert.deepEqual(JSON.parse(described.definition ?? ''), definition);
    assert.equal(described.roleArn, roleArn);
    assert.equal(described.type, 'STANDARD');
    assert.equal(described.status, 'ACTIVE');
  });

  test('ListStateMachines includes created machines and DeleteStateMachine removes one', async () => {
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'A',
      States: { A: { Type: 'Pass', End: true } },
    });
    const listed = await client.send(new ListStateMachinesCommand({}));
    assert.ok(listed.stateMachines?.some((m) => m.stateMachineArn === stateMachineArn));
    await client.send(new DeleteStateMachineCommand({ stateMachineArn }));
    await assert.rejects(
      client.send(new DescribeStateMachineCommand({ stateMachineArn })),
      StateMachineDoesNotExist,
    );
  });

  test('StartExecution with a name runs to SUCCEEDED and DescribeExecution reports it', async () => {
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'A',
      States: { A: { Type: 'Pass', Result: { ok: 1 }, ResultPath: '$.result', End: true } },
    });
    const name = uniqueName('run');
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn, name, input: '{"x":2}' }),
    );
    assert.match(started.executionArn ?? '', new RegExp(`:execution:[^:]+:${name}$`));
    const execution = await waitForEnd(client, started.executionArn as string);
    assert.equal(execution.status, 'SUCCEEDED');
    assert.equal(execution.name, name);
    assert.deepEqual(JSON.parse(execution.output ?? ''), { x: 2, result: { ok: 1 } });
    assert.ok(execution.startDate instanceof Date);
    assert.ok(execution.stopDate instanceof Date);
  });

  test('StartExecution refuses input that is not JSON', async () => {
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'A',
      States: { A: { Type: 'Pass', End: true } },
    });
    await assert.rejects(
      client.send(new StartExecutionCommand({ stateMachineArn, input: 'nope' })),
      InvalidExecutionInput,
    );
  });

  test('input nested deeper than the documented limit is refused with InvalidExecutionInput', async () => {
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'A',
      States: { A: { Type: 'Pass', End: true } },
    });
    const input = `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`;
    const error = await client
      .send(new StartExecutionCommand({ stateMachineArn, input }))
      .catch((e: Error) => e);
    assert.ok(error instanceof InvalidExecutionInput, String(error));
    assert.match(error.message, new RegExp(`deeper than ${maxJsonDepth} levels`));
  });

  test('input nested exactly to the limit runs through Parameters, a task and ResultPath', async () => {
    const activityArn = await createActivity(client);
    const stateMachineArn = await createStateMachine(
      client,
      singleTaskMachine(activityArn, { Parameters: { 'In.$': '$' }, ResultPath: '$.r' }),
    );
    const depth = maxJsonDepth;
    const input = `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn, input }),
    );
    const { taskToken } = await takeTask(client, activityArn);
    const deepOutput = `${'['.repeat(3_000)}${']'.repeat(3_000)}`;
    await assert.rejects(
      client.send(new SendTaskSuccessCommand({ taskToken, output: deepOutput })),
      (e: Error) => e instanceof InvalidOutput && /deeper than/.test(e.message),
    );
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{"ok":true}' }));
    const execution = await waitForEnd(client, executionArn as string);
    assert.equal(execution.status, 'SUCCEEDED');
  });

  test('DescribeExecution of an unknown execution raises ExecutionDoesNotExist', async () => {
    const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:none:none';
    await assert.rejects(
      client.send(new DescribeExecutionCommand({ executionArn })),
      ExecutionDoesNotExist,
    );
  });

  test('a Fail state ends the execution FAILED with its error and cause', async () => {
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'F',
      States: { F: { Type: 'Fail', Error: 'Custom.Bad', Cause: 'because' } },
    });
    const execution = await waitForEnd(client, await startExecution(client, stateMachineArn));
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'Custom.Bad');
    assert.equal(execution.cause, 'because');
  });

  test('ResultSelector and ResultPath apply to a worker output', async () => {
    const activityArn = await createActivity(client);
    const stateMachineArn = await createStateMachine(
      client,
      singleTaskMachine(activityArn, {
        ResultSelector: { 'code.$': '$.StatusCode' },
        ResultPath: '$.call',
      }),
    );
    const executionArn = await startExecution(client, stateMachineArn, { keep: true });
    const { taskToken } = await takeTask(client, activityArn);
    await client.send(
      new SendTaskSuccessCommand({ taskToken, output: '{"StatusCode":200,"ResponseBody":{}}' }),
    );
    const execution = await waitForEnd(client, executionArn);
    assert.deepEqual(JSON.parse(execution.output ?? ''), { keep: true, call: { code: 200 } });
  });

  test('ListExecutions filters by status', async () => {
    const activityArn = await createActivity(client);
    const stateMachineArn = await createStateMachine(client, singleTaskMachine(activityArn));
    const running = await startExecution(client, stateMachineArn);
    const stopped = await startExecution(client, stateMachineArn);
    await client.send(new StopExecutionCommand({ executionArn: stopped }));
    const runningList = await client.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }),
    );
    assert.deepEqual(
      runningList.executions?.map((e) => e.executionArn),
      [running],
    );
    const abortedList = await client.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'ABORTED' }),
    );
    assert.deepEqual(
      abortedList.executions?.map((e) => e.executionArn),
      [stopped],
    );
    const all = await client.send(new ListExecutionsCommand({ stateMachineArn }));
    assert.equal(all.executions?.length, 2);
  });

  test('StopExecution ends the execution ABORTED with the given error and cause', async () => {
    const activityArn = await createActivity(client);
    const stateMachineArn = await createStateMachine(client, singleTaskMachine(activityArn));
    const executionArn = await startExecution(client, stateMachineArn);
    const stopped = await client.send(
      new StopExecutionCommand({ executionArn, error: 'Ops.Stop', cause: 'by hand' }),
    );
    assert.ok(stopped.stopDate instanceof Date);
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    assert.equal(execution.status, 'ABORTED');
    assert.equal(execution.error, 'Ops.Stop');
    assert.equal(execution.cause, 'by hand');
    const { events } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    const aborted = events?.find((e) => e.type === 'ExecutionAborted');
    assert.equal(aborted?.executionAbortedEventDetails?.error, 'Ops.Stop');
  });

  test('history of an activity execution records every step with ids and typed details', async () => {
    const activityArn = await createActivity(client);
    const stateMachineArn = await createStateMachine(
      client,
      singleTaskMachine(activityArn, { HeartbeatSeconds: 30, TimeoutSeconds: 60 }),
    );
    const executionArn = await startExecution(client, stateMachineArn, { a: 1 });
    const { taskToken } = await takeTask(client, activityArn, 'hist-worker');
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{"b":2}' }));
    await waitForEnd(client, executionArn);
    const { events = [] } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'ExecutionStarted',
        'TaskStateEntered',
        'ActivityScheduled',
        'ActivityStarted',
        'ActivitySucceeded',
        'TaskStateExited',
        'ExecutionSucceeded',
      ],
    );
    assert.deepEqual(
      events.map((e) => e.id),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(events[0]?.previousEventId, 0);
    assert.equal(events[3]?.previousEventId, 3);
    assert.ok(events.every((e) => e.timestamp instanceof Date));
    assert.equal(JSON.parse(events[0]?.executionStartedEventDetails?.input ?? '').a, 1);
    assert.equal(events[1]?.stateEnteredEventDetails?.name, 'Work');
    const scheduled = events[2]?.activityScheduledEventDetails;
    assert.equal(scheduled?.resource, activityArn);
    assert.deepEqual(JSON.parse(scheduled?.input ?? ''), { a: 1 });
    assert.equal(scheduled?.heartbeatInSeconds, 30);
    assert.equal(scheduled?.timeoutInSeconds, 60);
    assert.equal(events[3]?.activityStartedEventDetails?.workerName, 'hist-worker');
    assert.equal(events[4]?.activitySucceededEventDetails?.output, '{"b":2}');
    assert.deepEqual(JSON.parse(events[6]?.executionSucceededEventDetails?.output ?? ''), { b: 2 });
  });

  test('history pages with maxResults and nextToken, and reverses with reverseOrder', async () => {
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'A',
      States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } },
    });
    const executionArn = await startExecution(client, stateMachineArn);
    await waitForEnd(client, executionArn);
    const first = await client.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 4 }),
    );
    assert.deepEqual(
      first.events?.map((e) => e.id),
      [1, 2, 3, 4],
    );
    assert.ok(first.nextToken);
    const second = await client.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 4, nextToken: first.nextToken }),
    );
    assert.deepEqual(
      second.events?.map((e) => e.id),
      [5, 6],
    );
    assert.equal(second.nextToken, undefined);
    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true }),
    );
    assert.deepEqual(
      reversed.events?.map((e) => e.type),
      [
        'ExecutionSucceeded',
        'PassStateExited',
        'PassStateEntered',
        'PassStateExited',
        'PassStateEntered',
        'ExecutionStarted',
      ],
    );
  });

  test('activity tasks inside Parallel branches and Map iterations are served to workers', async () => {
    const activityArn = await createActivity(client);
    const stateMachineArn = await createStateMachine(client, {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Next: 'Each',
          ResultPath: '$.parallel',
          Branches: [
            {
              StartAt: 'InBranch',
              States: { InBranch: { Type: 'Task', Resource: activityArn, End: true } },
            },
          ],
        },
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            StartAt: 'InMap',
            States: { InMap: { Type: 'Task', Resource: activityArn, End: true } },
          },
          End: true,
        },
      },
    });
    const executionArn = await startExecution(client, stateMachineArn, { items: [1, 2] });
    for (let i = 0; i < 3; i++) {
      const { taskToken, input } = await takeTask(client, activityArn);
      const parsed = JSON.parse(input) as unknown;
      await client.send(
        new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ echo: parsed }) }),
      );
    }
    const execution = await waitForEnd(client, executionArn as string);
    assert.equal(execution.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(execution.output ?? ''), [{ echo: 1 }, { echo: 2 }]);
  });
});
