import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  createLocalFunction,
  type InvocationResult,
  type LocalLambdaFunction,
} from '../../../infra/local-stack/lambda/local-function.ts';
import { collectLogs, fixture, waitFor } from './support.ts';

const isAlive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const errorOf = (result: InvocationResult) => {
  assert.notEqual(result.status, 'succeeded', JSON.stringify(result));
  return result.status === 'succeeded' ? undefined : result.error;
};

describe('local Lambda: how invocations fail', () => {
  const functions: LocalLambdaFunction[] = [];
  const create = (timeoutMs: number, exportName?: string, logs = collectLogs()) => {
    const fn = createLocalFunction({
      functionName: `failing-${functions.length}`,
      handler: { modulePath: fixture('behaviour.ts'), ...(exportName ? { exportName } : {}) },
      timeoutMs,
      logs: { onLine: logs.onLine },
    });
    functions.push(fn);
    return fn;
  };
  after(async () => {
    await Promise.all(functions.map((fn) => fn.close()));
  });

  test('a thrown error fails the invocation with its name and message; the sandbox stays warm', async () => {
    const fn = create(5_000);
    const thrown = await fn.invoke({ action: 'throw' });
    assert.equal(thrown.status, 'failed');
    assert.equal(errorOf(thrown)?.errorType, 'PurposefulError');
    assert.equal(errorOf(thrown)?.errorMessage, 'the handler failed on purpose');
    const rejected = await fn.invoke({ action: 'reject-string' });
    assert.equal(rejected.status, 'failed');
    assert.equal(errorOf(rejected)?.errorMessage, 'just a string');
    const next = await fn.invoke({ action: 'return' });
    assert.equal(next.status, 'succeeded');
    assert.equal(next.sandboxId, thrown.sandboxId, 'a handled error does not end the sandbox');
  });

  test('past the timeout the sandbox is killed and the invocation times out', async () => {
    const fn = create(400);
    const started = Date.now();
    const pending = fn.invoke({ action: 'hang' });
    const busy = await waitFor('a busy sandbox', () => fn.sandboxes().find((s) => s.busy));
    const result = await pending;
    const elapsed = Date.now() - started;
    assert.equal(result.status, 'timedOut');
    assert.equal(errorOf(result)?.errorType, 'Sandbox.Timedout');
    assert.match(errorOf(result)?.errorMessage ?? '', /Task timed out after 0\.40 seconds$/);
    assert.ok(
      result.durationMs >= 390 && result.durationMs < 1_000,
      `duration ${result.durationMs}`,
    );
    assert.ok(elapsed >= 400, `ended after ${elapsed} ms`);
    await waitFor('the timed-out sandbox to be gone', () => !isAlive(busy.pid));
    assert.equal(fn.sandboxes().length, 0);
    const next = await fn.invoke({ action: 'return' });
    assert.equal(next.status, 'succeeded');
    assert.equal(next.coldStart, true, 'the next invocation needs a new sandbox');
  });

  test('a sandbox killed mid-invocation fails it as a crash', async () => {
    const logs = collectLogs();
    const fn = create(10_000, undefined, logs);
    const pending = fn.invoke({ action: 'sleep', ms: 5_000 });
    const busy = await waitFor('a busy sandbox', () => fn.sandboxes().find((s) => s.busy));
    // Crash it inside the handler, not during its init phase.
    await waitFor('the handler to run', () => logs.json('behaving').length > 0);
    assert.equal(fn.crashOneBusySandbox(), busy.id);
    const result = await pending;
    assert.equal(result.status, 'crashed');
    assert.equal(errorOf(result)?.errorType, 'Runtime.ExitError');
    assert.match(errorOf(result)?.errorMessage ?? '', /Runtime exited with error: signal: killed$/);
    assert.equal(fn.crashOneBusySandbox(), undefined, 'nothing is busy any more');
  });

  test('a handler that exits the process crashes its invocation', async () => {
    const fn = create(10_000);
    const result = await fn.invoke({ action: 'exit' });
    assert.equal(result.status, 'crashed');
    assert.match(errorOf(result)?.errorMessage ?? '', /exit status 3$/);
  });

  test('a missing export fails at init, as Runtime.HandlerNotFound', async () => {
    const fn = create(5_000, 'noSuchExport');
    const result = await fn.invoke({});
    assert.equal(result.status, 'failed');
    assert.equal(errorOf(result)?.errorType, 'Runtime.HandlerNotFound');
    assert.equal(fn.sandboxes().length, 0);
  });

  test('a sandbox that dies or hangs in its init phase crashes or times out the invocation', async () => {
    const fn = create(5_000);
    const pending = fn.invoke({ action: 'return' });
    // Killed while it is still importing the handler module.
    assert.notEqual(fn.crashOneBusySandbox(), undefined);
    const crashed = await pending;
    assert.equal(crashed.status, 'crashed');
    assert.match(
      errorOf(crashed)?.errorMessage ?? '',
      /Runtime exited with error: signal: killed$/,
    );

    const slowInit = createLocalFunction({
      functionName: 'slow-init',
      handler: { modulePath: fixture('behaviour.ts') },
      timeoutMs: 5_000,
      initTimeoutMs: 1,
      logs: { onLine: () => {} },
    });
    functions.push(slowInit);
    const timedOut = await slowInit.invoke({ action: 'return' });
    assert.equal(timedOut.status, 'timedOut');
    assert.match(errorOf(timedOut)?.errorMessage ?? '', /^Init timed out/);
  });

  test('configurations Lambda refuses are refused', () => {
    const base = { functionName: 'bad', handler: { modulePath: fixture('behaviour.ts') } };
    assert.throws(() => createLocalFunction({ ...base, timeoutMs: 0 }), {
      name: 'InvalidParameterValueException',
    });
    assert.throws(() => createLocalFunction({ ...base, timeoutMs: 1_000, memorySizeMb: 64 }), {
      name: 'InvalidParameterValueException',
    });
    assert.throws(
      () =>
        createLocalFunction({
          ...base,
          timeoutMs: 1_000,
          environment: { AWS_LAMBDA_FUNCTION_NAME: 'other' },
        }),
      /Reserved keys used in this request: AWS_LAMBDA_FUNCTION_NAME/,
    );
  });
});
