import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { LocalStepFunctions } from '../../../infra/local-stack/sfn/server.ts';
import {
  createActivity,
  createStateMachine,
  loadSeedExample,
  makeClient,
  startExecution,
  startTestStepFunctions,
  takeTask,
  waitForEnd,
} from './support.ts';

/** Seed example 02 with only `Resource` swapped for an activity, plus optional extra fields. */
const seedCallListPods = (activityArn: string, extra: Record<string, unknown> = {}) => {
  const definition = structuredClone(loadSeedExample('02-call-list-pods.asl.json')) as {
    States: Record<string, Record<string, unknown>>;
  };
  const state = definition.States['Call EKS'];
  assert.ok(state, 'the fixture has its "Call EKS" state');
  Object.assign(state, { Resource: activityArn }, extra);
  return definition;
};

const listPodsOutput = {
  ResponseBody: { kind: 'PodList', items: [] },
  StatusCode: 200,
  StatusText: 'OK',
};

describe('local Step Functions: seed example 02 (eks:call list pods) on an activity', {
  concurrency: true,
}, () => {
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

  test('the worker receives the Parameters as the task input', async () => {
    const activityArn = await createActivity(client);
    await startExecution(client, await createStateMachine(client, seedCallListPods(activityArn)));
    const { input } = await takeTask(client, activityArn);
    const parameters = loadSeedExample('02-call-list-pods.asl.json') as {
      States: { 'Call EKS': { Parameters: unknown } };
    };
    assert.deepEqual(JSON.parse(input), parameters.States['Call EKS'].Parameters);
  });

  test('runs to SUCCEEDED with the output the worker sends', async () => {
    const activityArn = await createActivity(client);
    const executionArn = await startExecution(
      client,
      await createStateMachine(client, seedCallListPods(activityArn)),
    );
    const { taskToken } = await takeTask(client, activityArn);
    await client.send(
      new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(listPodsOutput) }),
    );
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(execution.output ?? ''), listPodsOutput);
  });

  test('ends FAILED with the error and cause the worker sends', async () => {
    const activityArn = await createActivity(client);
    const executionArn = await startExecution(
      client,
      await createStateMachine(client, seedCallListPods(activityArn)),
    );
    const { taskToken } = await takeTask(client, activityArn);
    await client.send(
      new SendTaskFailureCommand({ taskToken, error: 'EKS.403', cause: '{"StatusCode":403}' }),
    );
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.403');
    assert.equal(execution.cause, '{"StatusCode":403}');
  });

  for (const matcher of ['EKS.403', 'States.TaskFailed', 'States.ALL']) {
    test(`a Catch on ${matcher} catches the failure the worker sends`, async () => {
      const activityArn = await createActivity(client);
      const definition = seedCallListPods(activityArn, {
        Catch: [{ ErrorEquals: [matcher], ResultPath: '$.failure', Next: 'Handled' }],
      });
      definition.States.Handled = { Type: 'Pass', End: true };
      const executionArn = await startExecution(
        client,
        await createStateMachine(client, definition),
        { keep: 1 },
      );
      const { taskToken } = await takeTask(client, activityArn);
      await client.send(
        new SendTaskFailureCommand({ taskToken, error: 'EKS.403', cause: 'forbidden' }),
      );
      const execution = await waitForEnd(client, executionArn);
      assert.equal(execution.status, 'SUCCEEDED');
      assert.deepEqual(JSON.parse(execution.output ?? ''), {
        keep: 1,
        failure: { Error: 'EKS.403', Cause: 'forbidden' },
      });
    });
  }

  test('a Catch on another error name does not catch it', async () => {
    const activityArn = await createActivity(client);
    const definition = seedCallListPods(activityArn, {
      Catch: [{ ErrorEquals: ['EKS.404'], Next: 'Handled' }],
    });
    definition.States.Handled = { Type: 'Pass', End: true };
    const executionArn = await startExecution(client, await createStateMachine(client, definition));
    const { taskToken } = await takeTask(client, activityArn);
    await client.send(
      new SendTaskFailureCommand({ taskToken, error: 'EKS.403', cause: 'forbidden' }),
    );
    const execution = await waitForEnd(client, executionArn);
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.403');
  });
});
