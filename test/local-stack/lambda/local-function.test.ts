import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  createLocalFunction,
  type LocalLambdaFunction,
} from '../../../infra/local-stack/lambda/local-function.ts';
import { collectLogs, fixture, sleep, waitFor } from './support.ts';

describe('local Lambda: a function and its sandboxes', () => {
  const functions: LocalLambdaFunction[] = [];
  const create = (options: Parameters<typeof createLocalFunction>[0]) => {
    const fn = createLocalFunction(options);
    functions.push(fn);
    return fn;
  };
  after(async () => {
    await Promise.all(functions.map((fn) => fn.close()));
  });

  test('the context counts down from the timeout; the sandbox sees its configuration', async () => {
    const fn = create({
      functionName: 'probe',
      handler: { modulePath: fixture('context-probe.ts') },
      timeoutMs: 3_000,
      memorySizeMb: 256,
      environment: { GREETING: 'hello', AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9' },
      logs: { onLine: () => {} },
    });
    const result = await fn.invoke({
      sleepMs: 300,
      envNames: [
        'GREETING',
        'AWS_ENDPOINT_URL_SQS',
        'AWS_REGION',
        'AWS_LAMBDA_FUNCTION_NAME',
        'NODE_TEST_CONTEXT',
      ],
    });
    assert.equal(result.status, 'succeeded', JSON.stringify(result));
    const payload = result.payload as Record<string, unknown>;
    const atStart = payload.remainingAtStartMs as number;
    const afterSleep = payload.remainingAfterSleepMs as number;
    assert.ok(atStart <= 3_000 && atStart > 2_800, `remaining at start: ${atStart}`);
    assert.ok(
      atStart - afterSleep >= 290 && atStart - afterSleep < 600,
      `${atStart} → ${afterSleep}`,
    );
    assert.equal(payload.awsRequestId, result.requestId);
    assert.equal(payload.functionName, 'probe');
    assert.equal(payload.functionVersion, '$LATEST');
    assert.equal(payload.memoryLimitInMB, '256');
    assert.equal(
      payload.invokedFunctionArn,
      'arn:aws:lambda:us-east-1:123456789012:function:probe',
    );
    assert.equal(payload.callbackWaitsForEmptyEventLoop, true);
    assert.equal(payload.logGroupName, '/aws/lambda/probe');
    assert.deepEqual(payload.env, {
      GREETING: 'hello',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'probe',
      // The test runner's own variables stay out of the sandbox.
      NODE_TEST_CONTEXT: null,
    });
    // Lambda's Node.js bootstrap: new space a tenth of 256 MB, the rest old space.
    assert.ok((payload.execArgv as string[]).includes('--max-old-space-size=231'));
    assert.ok((payload.execArgv as string[]).includes('--max-semi-space-size=12'));
    // The fixture imports lib/config.ts: repository .ts modules load through tsx.
    assert.equal(payload.loadConfigIsAFunction, true);
    assert.notEqual(payload.pid, process.pid);
  });

  test('a warm sandbox takes the next invocation; a new one starts when all are busy', async () => {
    const fn = create({
      functionName: 'warm',
      handler: { modulePath: fixture('behaviour.ts') },
      timeoutMs: 5_000,
      logs: { onLine: () => {} },
    });
    const first = await fn.invoke({ action: 'return', value: 1 });
    const second = await fn.invoke({ action: 'return', value: 2 });
    assert.equal(first.status, 'succeeded');
    assert.equal(second.status, 'succeeded');
    assert.equal(first.coldStart, true);
    assert.equal(second.coldStart, false);
    assert.equal(second.sandboxId, first.sandboxId);
    const pidOf = (r: typeof first) =>
      r.status === 'succeeded' ? (r.payload as { pid: number }).pid : 0;
    assert.equal(pidOf(second), pidOf(first));
    // The answer went through JSON as Lambda's does: a Date arrives as its ISO string.
    assert.equal(
      second.status === 'succeeded' && (second.payload as { at: string }).at,
      '1970-01-01T00:00:00.000Z',
    );

    const together = await Promise.all([
      fn.invoke({ action: 'sleep', ms: 200 }),
      fn.invoke({ action: 'sleep', ms: 200 }),
      fn.invoke({ action: 'sleep', ms: 200 }),
    ]);
    const sandboxIds = new Set(together.map((result) => result.sandboxId));
    assert.equal(sandboxIds.size, 3, 'three overlapping invocations need three sandboxes');
    assert.equal(fn.sandboxes().length, 3);
    assert.ok(fn.sandboxes().every((sandbox) => !sandbox.busy));

    // Killing the warm sandboxes (as Lambda may reclaim them) makes the next invocation cold.
    for (const sandboxId of sandboxIds) assert.equal(fn.killSandbox(sandboxId as number), true);
    assert.equal(fn.sandboxes().length, 0);
    const cold = await fn.invoke({ action: 'return' });
    assert.equal(cold.coldStart, true);
    assert.ok(!sandboxIds.has(cold.sandboxId));
  });

  test('the reserved concurrency throttles an invocation past it', async () => {
    const fn = create({
      functionName: 'reserved',
      handler: { modulePath: fixture('behaviour.ts') },
      timeoutMs: 5_000,
      reservedConcurrency: 1,
      logs: { onLine: () => {} },
    });
    const slow = fn.invoke({ action: 'sleep', ms: 300 });
    const throttled = await fn.invoke({ action: 'return' });
    assert.equal(throttled.status, 'throttled');
    assert.equal(
      throttled.status === 'throttled' && throttled.error.errorType,
      'TooManyRequestsException',
    );
    assert.equal((await slow).status, 'succeeded');
  });

  test('a sandbox is frozen between invocations: its timers do not run', async () => {
    const make = (freezeBetweenInvocations: boolean) =>
      create({
        functionName: `ticker-${freezeBetweenInvocations}`,
        handler: { modulePath: fixture('behaviour.ts') },
        timeoutMs: 5_000,
        freezeBetweenInvocations,
        logs: { onLine: () => {} },
      });
    const ticksWhileIdle = async (fn: LocalLambdaFunction): Promise<number> => {
      const before = await fn.invoke({ action: 'start-ticking' });
      await sleep(400);
      const after = await fn.invoke({ action: 'ticks' });
      const count = (r: typeof before) =>
        r.status === 'succeeded' ? (r.payload as { ticks: number }).ticks : NaN;
      return count(after) - count(before);
    };
    const [frozen, running] = await Promise.all([
      ticksWhileIdle(make(true)),
      ticksWhileIdle(make(false)),
    ]);
    // A 10 ms interval over 400 ms idle: ~40 ticks when running, at most a catch-up tick or two
    // when frozen (timers due during the freeze fire once on thaw).
    assert.ok(running >= 20, `ticks while running: ${running}`);
    assert.ok(frozen <= 3, `ticks while frozen: ${frozen}`);
  });

  test('a callback-style handler answers through its callback', async () => {
    const fn = create({
      functionName: 'callback',
      handler: { modulePath: fixture('behaviour.ts'), exportName: 'callbackHandler' },
      timeoutMs: 5_000,
      logs: { onLine: () => {} },
    });
    const result = await fn.invoke({ action: 'return', value: 'hi' });
    assert.deepEqual(result.status === 'succeeded' && result.payload, { echoed: 'hi' });
  });

  test("logs: the function's lines with their request id, and START, END, REPORT", async () => {
    const logs = collectLogs();
    const dir = mkdtempSync(join(tmpdir(), 'lambda-logs-'));
    const filePath = join(dir, 'probe.log');
    const fn = create({
      functionName: 'logged',
      handler: { modulePath: fixture('context-probe.ts') },
      timeoutMs: 3_000,
      logs: { onLine: logs.onLine, filePath },
    });
    const result = await fn.invoke({});
    const probed = await waitFor('the probe line', () => logs.json('probed')[0]);
    assert.equal(probed.requestId, result.requestId);
    const ours = logs.lines.filter((line) => line.requestId === result.requestId);
    const platform = ours.filter((line) => line.stream === 'platform').map((line) => line.line);
    assert.match(
      platform[0] ?? '',
      new RegExp(`^START RequestId: ${result.requestId} Version: \\$LATEST$`),
    );
    assert.equal(platform[1], `END RequestId: ${result.requestId}`);
    assert.match(
      platform[2] ?? '',
      /^REPORT RequestId: .*\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$/,
    );
    await fn.close();
    const file = readFileSync(filePath, 'utf8');
    assert.ok(file.includes(`"message":"probed","requestId":"${result.requestId}"`), file);
    assert.ok(file.includes(`END RequestId: ${result.requestId}`));
    rmSync(dir, { recursive: true, force: true });
  });
});
