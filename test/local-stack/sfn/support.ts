import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetActivityTaskCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { localAccountId } from '../../../infra/local-stack/identities.ts';
import {
  type LocalStepFunctions,
  type StepFunctionsOptions,
  startStepFunctions,
} from '../../../infra/local-stack/sfn/server.ts';
import { adminSdkConfig } from '../../support/local-aws.ts';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const roleArn = `arn:aws:iam::${localAccountId}:role/local-sfn`;

/** Short hold so an empty poll costs tests little; AWS's is 60 s. */
export const testHoldMs = 300;

export const startTestStepFunctions = (
  options: StepFunctionsOptions = {},
): Promise<LocalStepFunctions> => startStepFunctions({ longPollHoldMs: testHoldMs, ...options });

/** The real SDK client, signing as the admin identity; no retries so errors surface as sent. */
export const makeClient = (endpoint: string): SFNClient => new SFNClient(adminSdkConfig(endpoint));

let sequence = 0;
/** Names unique within a test run, so tests sharing a server never collide. */
export const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${++sequence}`;

export const createActivity = async (client: SFNClient, name = uniqueName('eks-call')) => {
  const { activityArn } = await client.send(new CreateActivityCommand({ name }));
  return activityArn as string;
};

export const createStateMachine = async (client: SFNClient, definition: unknown) => {
  const { stateMachineArn } = await client.send(
    new CreateStateMachineCommand({
      name: uniqueName('machine'),
      definition: JSON.stringify(definition),
      roleArn,
    }),
  );
  return stateMachineArn as string;
};

export const startExecution = async (
  client: SFNClient,
  stateMachineArn: string,
  input: unknown = {},
) => {
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  return executionArn as string;
};

/** A one-state machine running `state` (merged over a Task on `activityArn`). */
export const singleTaskMachine = (activityArn: string, state: Record<string, unknown> = {}) => ({
  StartAt: 'Work',
  States: { Work: { Type: 'Task', Resource: activityArn, End: true, ...state } },
});

/** Polls until a task arrives (each poll holds at most the server's hold time). */
export const takeTask = async (
  client: SFNClient,
  activityArn: string,
  workerName = 'test-worker',
  timeoutMs = 5000,
): Promise<{ taskToken: string; input: string }> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const task = await client.send(new GetActivityTaskCommand({ activityArn, workerName }));
    if (task.taskToken) return { taskToken: task.taskToken, input: task.input ?? '' };
  }
  throw new Error(`no task for ${activityArn} within ${timeoutMs} ms`);
};

/** Waits until the execution leaves RUNNING. */
export const waitForEnd = async (
  client: SFNClient,
  executionArn: string,
  timeoutMs = 5000,
): Promise<DescribeExecutionCommandOutput> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    if (Date.now() > deadline)
      throw new Error(`${executionArn} still RUNNING after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/**
 * A seed example state machine, read from ../shared/fixtures (the project's source of truth) and,
 * where that checkout is absent, from the verbatim copy in test/fixtures.
 */
export const loadSeedExample = (fileName: string): Record<string, unknown> => {
  const shared = `${repoRoot}../shared/fixtures/seed-examples/${fileName}`;
  const copy = `${repoRoot}test/fixtures/seed-examples/${fileName}`;
  const path = existsSync(shared) ? shared : copy;
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
};

/** Asserts a promise rejects with an SDK exception of that name; returns it for more checks. */
export const rejectsWith = async (
  promise: Promise<unknown>,
  name: string,
): Promise<Error & Record<string, unknown>> => {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & Record<string, unknown>;
    if (e.name !== name) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
};
