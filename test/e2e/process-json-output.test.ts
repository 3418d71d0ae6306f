/**
 * The process host's output is JSON lines and nothing else, on every supported Node version: a log
 * collector parses each line. On Node 20 the AWS SDK warns at its first client with a multi-line
 * plain-text process warning; the host logs it as one JSON line instead.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { CreateActivityCommand, SFNClient } from '@aws-sdk/client-sfn';
import { startLocalStack } from '../../infra/local-stack/index.ts';

test('every line the process host writes, on stdout and stderr, is JSON', {
  timeout: 60_000,
}, async () => {
  const stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
  const sfn = new SFNClient({
    region: stack.region,
    endpoint: stack.sfn.endpoint,
    credentials: stack.credentials,
  });
  try {
    const { activityArn } = await sfn.send(new CreateActivityCommand({ name: 'json-eks-call' }));
    const worker = spawn(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      env: {
        PATH: process.env.PATH,
        ...stack.awsEnvironment(),
        EKS_WORKER_ACTIVITY_ARNS: activityArn,
        EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
        EKS_WORKER_LOG_LEVEL: 'INFO',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    worker.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    // Long enough for polls (and so the SDK's clients) to have started.
    for (const deadline = Date.now() + 30_000; !/"Worker started"/.test(output); ) {
      assert.ok(Date.now() < deadline, `the worker did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    worker.kill('SIGTERM');
    await once(worker, 'exit');

    const lines = output.split('\n').filter((line) => line.trim() !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    assert.deepEqual(notJson, [], output);
    assert.ok(
      lines.some((line) => /"message":"Worker stopped"/.test(line)),
      output,
    );

    const majorVersion = Number(process.versions.node.split('.')[0]);
    const sdkWarning = lines.find((line) => /NodeVersionSupportWarning/.test(line));
    if (majorVersion < 22) {
      // The SDK's warning is still said, as one JSON line.
      assert.ok(sdkWarning, output);
      assert.equal(JSON.parse(sdkWarning).message, 'Node.js process warning');
    } else {
      assert.equal(sdkWarning, undefined);
    }
  } finally {
    sfn.destroy();
    await stack.close();
  }
});
