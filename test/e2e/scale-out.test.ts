/**
 * Several worker processes serving the same activity (more replicas, more Lambda pollers): the
 * small version of `npm run bench -- scale-out`. Each process talks to Step Functions through its
 * own recording proxy, so the test sees on the wire which process took and answered each task.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScaleOut } from '../bench/parts/scale-out.ts';
import { bundleWorker } from '../bench/worker-process.ts';

test('two worker processes share 100 executions: each ends once with its own output', async () => {
  const result = await runScaleOut({
    mode: 'bundle',
    bundlePath: await bundleWorker(),
    workers: 2,
    executions: 100,
    jobRunMs: 100,
    maxConcurrentTasks: 20,
  });
  assert.equal(result.succeeded, 100);
  assert.equal(result.wrongOutputs, 0);
  assert.equal(result.takenTwice, 0);
  assert.equal(result.answeredTwice, 0);
  assert.equal(result.unanswered, 0);
  assert.equal(
    result.perWorker.reduce((sum, w) => sum + w.tasks, 0),
    100,
  );
  // Both processes poll the same activity all along: neither may be left out.
  for (const worker of result.perWorker) assert.ok(worker.tasks >= 10, JSON.stringify(result));
});
