import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../lib/config.ts';
import { ErrorName } from '../../../lib/errors.ts';
import { runProcessWorker, type SignalSource } from '../../../lib/hosts/process.ts';
import { FakeActivityApi } from '../worker/support/fake-activity-api.ts';
import {
  activityArn,
  ControlledIntegration,
  delay,
  silentLogger,
  withTimeout,
} from '../worker/support/harness.ts';

const fastLoop = {
  pollBackoff: { baseDelayMs: 1, maxDelayMs: 5 },
  answerRetry: { baseDelayMs: 1, maxDelayMs: 5, maxElapsedMs: 1_000 },
  abortSettleMs: 50,
};

const makeSignals = (): SignalSource & EventEmitter => new EventEmitter();

describe('process host', () => {
  test('SIGTERM stops the worker gracefully: a running task finishes within the grace period', async () => {
    const integration = new ControlledIntegration('eks-call', async () => {
      await delay(80);
      return { done: true };
    });
    const api = new FakeActivityApi({ longPollMs: 30 });
    const signals = makeSignals();
    const config = loadConfig(
      {
        EKS_WORKER_ACTIVITY_ARNS: activityArn('test-eks-call'),
        AWS_REGION: 'us-east-1',
        EKS_WORKER_SHUTDOWN_GRACE_MS: '1000',
      },
      { logLevel: 'SILENT' },
    );
    const running = runProcessWorker({
      config,
      integrations: [integration],
      activityApi: api,
      logger: silentLogger(),
      signals,
      workerOptions: fastLoop,
    });
    const token = api.enqueue(activityArn('test-eks-call'), {});
    await integration.waitForCalls(1);

    signals.emit('SIGTERM');
    await withTimeout(running);

    assert.deepEqual(api.answerFor(token), {
      kind: 'success',
      taskToken: token,
      output: '{"done":true}',
    });
    assert.equal(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT'), 0);
  });

  test('a second SIGINT cuts the grace period short and interrupts the running task', async () => {
    const integration = new ControlledIntegration('eks-call', (_, context) => {
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    });
    const api = new FakeActivityApi({ longPollMs: 30 });
    const signals = makeSignals();
    const config = loadConfig(
      {
        EKS_WORKER_ACTIVITY_ARNS: activityArn('test-eks-call'),
        AWS_REGION: 'us-east-1',
        EKS_WORKER_SHUTDOWN_GRACE_MS: '60000',
      },
      { logLevel: 'SILENT' },
    );
    const running = runProcessWorker({
      config,
      integrations: [integration],
      activityApi: api,
      logger: silentLogger(),
      signals,
      workerOptions: fastLoop,
    });
    const token = api.enqueue(activityArn('test-eks-call'), {});
    await integration.waitForCalls(1);

    signals.emit('SIGINT');
    await delay(20);
    signals.emit('SIGINT');
    await withTimeout(running);

    const answer = api.answerFor(token);
    assert.equal(answer?.kind === 'failure' ? answer.error : '', ErrorName.WorkerInterrupted);
  });

  test('the command exits 2 and lists every configuration problem', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      env: { PATH: process.env.PATH ?? '', EKS_WORKER_MAX_CONCURRENT_TASKS: 'many' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exitCode = await withTimeout(
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      20_000,
    );

    assert.equal(exitCode, 2, stderr);
    assert.match(stderr, /EKS_WORKER_ACTIVITY_ARNS is required/);
    assert.match(stderr, /EKS_WORKER_MAX_CONCURRENT_TASKS must be a whole number/);
    assert.match(stderr, /\| `EKS_WORKER_LOG_LEVEL` \| INFO \|/);
  });
});
