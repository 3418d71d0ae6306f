import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TaskFailedError } from '../../../../lib/errors.ts';
import {
  type CollectLogsOptions,
  type ContainerLogEntry,
  collectLogs,
  shareBudgetFairly,
  toLogValue,
} from '../../../../lib/integrations/kube-job/collect-logs.ts';
import type { KubeJob } from '../../../../lib/integrations/kube-job/job-api.ts';
import { stringifyJson } from '../../../../lib/json/exact-json.ts';
import { FakeJobApi, makeJobPod } from './support/fake-job-api.ts';

const job: KubeJob = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'job-1', namespace: 'default', uid: 'uid-1' },
  spec: {},
  status: {},
};

const collect = (api: FakeJobApi, overrides: Partial<CollectLogsOptions> = {}) =>
  collectLogs({
    api,
    namespace: 'default',
    pods: api.pods,
    rawLogs: false,
    logParameters: {},
    outputWithoutLogs: job,
    maxOutputBytes: 262_144,
    signal: AbortSignal.timeout(20_000),
    ...overrides,
  });

const outputBytes = (logs: unknown) => Buffer.byteLength(JSON.stringify({ ...job, logs }));

const entryOf = (logs: Awaited<ReturnType<typeof collectLogs>>, pod: string, container: string) =>
  logs.pods[pod]?.containers[container] as ContainerLogEntry & { log?: unknown; truncated?: true };

const lines = (count: number, width: number) =>
  Array.from(
    { length: count },
    (_, i) => `${String(i).padStart(6, '0')} ${'y'.repeat(width - 8)}\n`,
  ).join('');

describe('max-min fair shares', () => {
  test('small demands are met in full and the rest split what is left', () => {
    assert.deepEqual(shareBudgetFairly([100, 5000, 5000], 2100), [100, 1000, 1000]);
  });

  test('demands under an equal split are all met', () => {
    assert.deepEqual(shareBudgetFairly([10, 20, 30], 1000), [10, 20, 30]);
  });

  test('an unbounded demand takes what the others leave', () => {
    assert.deepEqual(shareBudgetFairly([Number.POSITIVE_INFINITY, 300], 1000), [700, 300]);
  });
});

describe('collecting Job logs', () => {
  test('a log that is one JSON document is output parsed', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', '{"answer": 42}\n');
    const logs = await collect(api);
    assert.deepEqual(logs, {
      pods: { 'job-1-a': { containers: { main: { log: { answer: 42 } } } } },
    });
  });

  test('RawLogs keeps a JSON log as the string it is', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', '{"answer": 42}\n');
    const logs = await collect(api, { rawLogs: true });
    assert.deepEqual(entryOf(logs, 'job-1-a', 'main'), { log: '{"answer": 42}\n' });
  });

  test('a log of several JSON lines stays a string', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', '{"a":1}\n{"b":2}\n');
    assert.deepEqual(entryOf(await collect(api), 'job-1-a', 'main'), { log: '{"a":1}\n{"b":2}\n' });
  });

  test('every container of every pod is read, init containers included', async () => {
    const api = new FakeJobApi();
    const pod = makeJobPod(job, 'job-1-a', ['main', 'sidecar']);
    pod.spec = { ...pod.spec, initContainers: [{ name: 'setup' }] };
    api.pods = [pod, makeJobPod(job, 'job-1-b', ['main', 'sidecar'])];
    for (const key of [
      'job-1-a/setup',
      'job-1-a/main',
      'job-1-a/sidecar',
      'job-1-b/main',
      'job-1-b/sidecar',
    ]) {
      api.logs.set(key, `log of ${key}\n`);
    }
    const logs = await collect(api);
    assert.deepEqual(Object.keys(logs.pods['job-1-a']?.containers ?? {}), [
      'setup',
      'main',
      'sidecar',
    ]);
    assert.deepEqual(entryOf(logs, 'job-1-b', 'sidecar'), { log: 'log of job-1-b/sidecar\n' });
  });

  test('a log that cannot be read gets error and cause instead of log', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    const entry = entryOf(await collect(api), 'job-1-a', 'main');
    assert.equal(entry.log, undefined);
    assert.deepEqual(Object.keys(entry), ['error', 'cause']);
    assert.equal((entry as { error: string }).error, 'EKS.400');
    assert.match((entry as { cause: string }).cause, /is not valid/);
  });

  test('LogParameters reach the log API, the smaller tailLines winning', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', 'one\ntwo\nthree\n');
    const logs = await collect(api, { logParameters: { tailLines: ['2'], timestamps: ['true'] } });
    assert.deepEqual(entryOf(logs, 'job-1-a', 'main'), { log: 'two\nthree\n' });
    const options = api.callsOf('readLog')[0]?.args[3] as { tailLines?: number; extra?: unknown };
    assert.equal(options.tailLines, 2);
    assert.deepEqual(options.extra, { timestamps: ['true'] });
  });

  test('the budget is shared fairly: a small log is kept whole, large ones get equal tails', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['small', 'big1', 'big2'])];
    api.logs.set('job-1-a/small', 'tiny log\n');
    api.logs.set('job-1-a/big1', lines(2000, 50));
    api.logs.set('job-1-a/big2', lines(4000, 50));
    const maxOutputBytes = 20_000;
    const logs = await collect(api, { maxOutputBytes });
    assert.deepEqual(entryOf(logs, 'job-1-a', 'small'), { log: 'tiny log\n' });
    const big1 = entryOf(logs, 'job-1-a', 'big1');
    const big2 = entryOf(logs, 'job-1-a', 'big2');
    assert.equal(big1.truncated, true);
    assert.equal(big2.truncated, true);
    assert.ok(String(big1.log).endsWith(`001999 ${'y'.repeat(42)}\n`), 'the tail is kept');
    assert.ok(String(big2.log).endsWith(`003999 ${'y'.repeat(42)}\n`));
    assert.match(String(big1.log), /^\d{6} /, 'cut at a line boundary');
    const size1 = String(big1.log).length;
    const size2 = String(big2.log).length;
    assert.ok(Math.abs(size1 - size2) <= 50, `shares ${size1} and ${size2} are about equal`);
    const total = outputBytes(logs);
    assert.ok(total <= maxOutputBytes, `${total} fits`);
    assert.ok(total >= maxOutputBytes - 300, `${total} uses the budget`);
  });

  test('escapes are counted: a log of quotes and backslashes still fits', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', '"\\"\\ é\t\n'.repeat(60_000));
    const logs = await collect(api);
    const entry = entryOf(logs, 'job-1-a', 'main');
    assert.equal(entry.truncated, true);
    const total = outputBytes(logs);
    assert.ok(total <= 262_144, `${total} fits`);
    assert.ok(total > 250_000, `${total} uses the budget`);
  });

  test('a log whose tail lines are shorter than its head still fills its share', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', lines(4000, 200) + lines(20_000, 20));
    const logs = await collect(api, { maxOutputBytes: 50_000 });
    const total = outputBytes(logs);
    assert.ok(total <= 50_000 && total > 45_000, `${total} fills the share`);
  });

  test('a 1 GB log is trimmed to its tail with bounded memory and reads', async () => {
    const api = new FakeJobApi();
    api.honourLimitBytes = false;
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    const lineCount = 10_737_419; // 100-byte lines: just over 1 GiB
    api.logs.set('job-1-a/main', { lines: lineCount, lineBytes: 100 });
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 5);
    try {
      const logs = await collect(api);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      const entry = entryOf(logs, 'job-1-a', 'main');
      assert.equal(entry.truncated, true);
      assert.ok(
        String(entry.log).endsWith(
          `line ${String(lineCount - 1).padStart(9, '0')} ${'x'.repeat(84)}\n`,
        ),
      );
      assert.ok(outputBytes(logs) <= 262_144);
      assert.ok(api.logBytesServed < 2 * 1024 * 1024, `served ${api.logBytesServed} bytes`);
      assert.ok(rssPeak - rssBefore < 50 * 1024 * 1024, `rss grew ${rssPeak - rssBefore}`);
    } finally {
      clearInterval(sampler);
    }
  });

  test('the Job alone too large for the output is EKS.OutputTooLarge', async () => {
    const api = new FakeJobApi();
    api.pods = [makeJobPod(job, 'job-1-a', ['main'])];
    api.logs.set('job-1-a/main', 'x\n');
    const huge = {
      ...job,
      metadata: { ...job.metadata, annotations: { big: 'z'.repeat(300_000) } },
    };
    await assert.rejects(collect(api, { outputWithoutLogs: huge }), (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      return error.errorName === 'EKS.OutputTooLarge';
    });
  });
});

describe('log values', () => {
  test('a number that a double cannot hold exactly stays a string', () => {
    const pi = '3.14159265358979323846264338327950288419716939937510\n';
    assert.equal(toLogValue(pi, false), pi);
    assert.equal(toLogValue('42\n', false), 42);
  });

  test('a JSON log keeps integers beyond 2^53 exact (not 1.2345678901234568e+22)', () => {
    const value = toLogValue('{"id": 12345678901234567890123}\n', false);
    assert.equal(stringifyJson(value), '{"id":12345678901234567890123}');
    assert.equal(stringifyJson(toLogValue('[9007199254740993]', false)), '[9007199254740993]');
  });

  test('a log that is one bare big integer stays the text', () => {
    assert.equal(toLogValue('9007199254740993\n', false), '9007199254740993\n');
  });
});
