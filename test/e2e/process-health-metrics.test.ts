/**
 * The process host's HTTP listener (EKS_WORKER_HTTP_PORT) on a real worker process against the
 * local stack: the probes answer and follow the worker's state, and /metrics counts the tasks it
 * serves in Prometheus text format.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import {
  makeRunJobFixture,
  type RunJobFixture,
  type SpawnedWorker,
  scriptedJob,
  spawnWorker,
  waitFor,
} from '../support/run-job-fixture.ts';

/** Long enough that a stopping worker is still waiting for its polls when the test asks. */
const longPollHoldMs = 3_000;

const get = async (port: number, path: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
};

/** The value of one sample line (`name{labels} value`) in the exposition text. */
const sample = (text: string, line: string): number | undefined => {
  const match = text.split('\n').find((l) => l.startsWith(`${line} `));
  return match === undefined ? undefined : Number(match.slice(line.length + 1));
};

describe('health and metrics of the worker process', () => {
  let stack: LocalStack;
  let fixture: RunJobFixture;
  let worker: SpawnedWorker;
  let port: number;

  before(async () => {
    stack = await startLocalStack({ sfn: { longPollHoldMs } });
    fixture = await makeRunJobFixture(stack, 'probes');
    worker = spawnWorker(process.execPath, ['--import', 'tsx', 'lib/hosts/process-main.ts'], {
      ...stack.awsEnvironment(),
      EKS_WORKER_ACTIVITY_ARNS: fixture.activityArn,
      EKS_WORKER_HTTP_PORT: '0',
      EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
      EKS_WORKER_LOG_LEVEL: 'INFO',
    });
    const listening = await waitFor(
      () =>
        worker
          .output()
          .split('\n')
          .find((line) => line.includes('Health and metrics listening')),
      (line) => line !== undefined,
      'the listener to start',
    );
    port = JSON.parse(listening ?? '{}').port;
  });

  after(async () => {
    worker?.child.kill('SIGKILL');
    fixture?.close();
    await stack?.close();
  });

  test('a polling worker is alive and ready', async () => {
    const ready = await waitFor(
      () => get(port, '/readyz'),
      (r) => r.status === 200,
      'readiness',
    );
    assert.equal(ready.body, 'ok: polling\n');
    assert.equal((await get(port, '/healthz')).status, 200);
    assert.equal((await get(port, '/nothing-here')).status, 404);
  });

  test('/metrics counts a served task under the EMF metric names, in Prometheus text format', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const before = await response.text();
    assert.equal(sample(before, 'eks_activity_worker_tasks_succeeded_total'), 0);

    const execution = await fixture.runJob(scriptedJob('counted', 100));
    assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${worker.output()}`);

    const text = (await get(port, '/metrics')).body;
    assert.equal(sample(text, 'eks_activity_worker_tasks_started_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_tasks_succeeded_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_time_to_completion_seconds_count'), 1);
    assert.ok((sample(text, 'eks_activity_worker_polls_in_flight') ?? 0) >= 1, text);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
  });

  test('after SIGTERM it is no longer ready but stays alive while polls in flight return, then exits 0', async () => {
    worker.child.kill('SIGTERM');
    const notReady = await waitFor(
      () => get(port, '/readyz'),
      (r) => r.status === 503,
      'readiness to end',
    );
    assert.equal(notReady.body, 'not ok: stopping\n');
    assert.equal((await get(port, '/healthz')).status, 200);
    assert.equal(await worker.exited, 0, worker.output());
    await assert.rejects(get(port, '/healthz'), 'the listener closes with the worker');
  });
});
