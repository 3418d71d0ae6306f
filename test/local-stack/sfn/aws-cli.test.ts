import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { LocalStepFunctions } from '../../../infra/local-stack/sfn/server.ts';
import { adminCliEnv } from '../../support/local-aws.ts';
import {
  repoRoot,
  roleArn,
  singleTaskMachine,
  startTestStepFunctions,
  uniqueName,
} from './support.ts';

const run = promisify(execFile);
const awsPath = `${repoRoot}.tools/bin/aws`;

describe('local Step Functions: the AWS CLI drives a whole execution', {
  skip: !existsSync(awsPath) && 'run `npm run tools` first',
}, () => {
  let sfn: LocalStepFunctions;
  before(async () => {
    sfn = await startTestStepFunctions();
  });
  after(async () => {
    await sfn.close();
  });

  const aws = async (...args: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run(
      awsPath,
      ['stepfunctions', ...args, '--endpoint-url', sfn.endpoint, '--output', 'json'],
      {
        timeout: 30_000,
        env: adminCliEnv(),
      },
    );
    return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
  };

  test('create-activity, create-state-machine, start-execution, get-activity-task, send-task-success, describe-execution', async () => {
    const { activityArn } = (await aws('create-activity', '--name', uniqueName('eks-call'))) as {
      activityArn: string;
    };
    const { stateMachineArn } = (await aws(
      'create-state-machine',
      '--name',
      uniqueName('cli-machine'),
      '--role-arn',
      roleArn,
      '--definition',
      JSON.stringify(singleTaskMachine(activityArn)),
    )) as { stateMachineArn: string };
    const { executionArn } = (await aws(
      'start-execution',
      '--state-machine-arn',
      stateMachineArn,
      '--input',
      '{"Method":"GET"}',
    )) as { executionArn: string };
    const task = (await aws(
      'get-activity-task',
      '--activity-arn',
      activityArn,
      '--worker-name',
      'cli',
    )) as {
      taskToken: string;
      input: string;
    };
    assert.deepEqual(JSON.parse(task.input), { Method: 'GET' });
    await aws(
      'send-task-success',
      '--task-token',
      task.taskToken,
      '--task-output',
      '{"StatusCode":200}',
    );
    let described: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      described = await aws('describe-execution', '--execution-arn', executionArn);
      if (described.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(described.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(String(described.output)), { StatusCode: 200 });
  });
});
