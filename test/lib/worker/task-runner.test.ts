import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Integration,
  TaskAbortedError,
  type TaskContext,
} from '../../../lib/integrations/types.ts';
import type {
  HandOff,
  ReceivedTask,
  TaskEndEvent,
  TaskProgress,
} from '../../../lib/worker/ports.ts';
import { systemClock } from '../../../lib/worker/ports.ts';
import { runTask, type TaskRunnerEnvironment } from '../../../lib/worker/task-runner.ts';
import { makeTaskRunnerEnvironment } from '../../../lib/worker/worker.ts';
import { FakeActivityApi, makeSfnError } from './support/fake-activity-api.ts';
import { activityArn, makeDeferred, silentLogger, withTimeout } from './support/harness.ts';

const activityName = 'runner-eks-runJob-sync';
const arn = activityArn(activityName);

/**
 * A wait: records a checkpoint once its "Job" exists, then waits until `finish` or an abort. The
 * contexts it ran with are kept, so a test can read why a signal was aborted.
 */
const makeWait = () => {
  const finished = makeDeferred<unknown>();
  const contexts: TaskContext[] = [];
  const waitOn = (context: TaskContext): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const onAbort = (): void => reject(context.signal.reason);
      if (context.signal.aborted) return onAbort();
      context.signal.addEventListener('abort', onAbort, { once: true });
      void finished.promise.then(resolve);
    });
  const integration: Integration = {
    activitySuffix: 'eks-runJob-sync',
    run: async (_input, context) => {
      contexts.push(context);
      context.checkpoint?.({ jobName: 'job-1' });
      return waitOn(context);
    },
    resume: async (_input, _checkpoint, context) => {
      contexts.push(context);
      // A carried task's later checkpoint: kept for its hand-back, never parked again.
      context.checkpoint?.({ jobName: 'job-1', seen: true });
      return waitOn(context);
    },
  };
  return { integration, contexts, finish: (value: unknown) => finished.resolve(value) };
};

/** A hand-off that records what it was given and answers as told. */
const makeHandOff = (accept: () => Promise<boolean>) => {
  const tasks: { task: ReceivedTask; progress: TaskProgress }[] = [];
  const handOff: HandOff = {
    handOffTask: async (task, progress) => {
      tasks.push({ task, progress });
      return accept();
    },
  };
  return { handOff, tasks };
};

const setUp = (handOff: HandOff | undefined, graceEndedSignal = new AbortController().signal) => {
  const api = new FakeActivityApi();
  const ended: TaskEndEvent[] = [];
  const environment: TaskRunnerEnvironment = makeTaskRunnerEnvironment(
    { heartbeatIntervalMs: 1_000, cleanupOnAbandon: true, abortSettleMs: 200 },
    {
      activityApi: api,
      clock: systemClock,
      logger: silentLogger(),
      ...(handOff === undefined ? {} : { handOff }),
      observer: { taskEnded: (event) => ended.push(event) },
    },
    graceEndedSignal,
  );
  const task: ReceivedTask = {
    activityArn: arn,
    activityName,
    taskToken: 'token-1',
    input: '{"jobName":"job-1"}',
  };
  return { api, ended, environment, task };
};

describe('task runner: durable waits', () => {
  test('a task is parked at its first checkpoint: handed to the queue with it, stopped here, not answered', async () => {
    const wait = makeWait();
    const queue = makeHandOff(async () => true);
    const { api, ended, environment, task } = setUp(queue.handOff);
    const run = await withTimeout(
      runTask({ activityArn: arn, activityName, integration: wait.integration }, task, environment),
    );
    assert.deepEqual(run.outcome, { kind: 'handed-off' });
    assert.equal(queue.tasks.length, 1);
    assert.deepEqual(queue.tasks[0]?.progress.checkpoint, { jobName: 'job-1' });
    assert.equal(queue.tasks[0]?.progress.handOffCount, 0);
    const reason = wait.contexts[0]?.signal.reason;
    assert.ok(reason instanceof TaskAbortedError);
    assert.deepEqual(
      reason.abortCause,
      { kind: 'handed-off' },
      'no clean-up: it goes on elsewhere',
    );
    assert.equal(api.answers.length, 0);
    assert.equal(ended[0]?.kind, 'parked');
  });

  test('a park the queue refuses leaves the wait here, and this worker answers it', async () => {
    const wait = makeWait();
    const queue = makeHandOff(async () => {
      throw makeSfnError('ServiceUnavailable', 503);
    });
    const { api, ended, environment, task } = setUp(queue.handOff);
    const running = runTask(
      { activityArn: arn, activityName, integration: wait.integration },
      task,
      environment,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    wait.finish({ done: true });
    const run = await withTimeout(running);
    assert.equal(run.outcome.kind, 'success');
    assert.equal(run.answer, 'delivered');
    assert.equal(queue.tasks.length, 1, 'parked once, not retried');
    assert.deepEqual(api.answers[0], {
      kind: 'success',
      taskToken: 'token-1',
      output: '{"done":true}',
    });
    assert.equal(ended[0]?.kind, 'success');
  });

  test('a wait that ends while its park is in flight is answered by its carrier, not twice', async () => {
    const wait = makeWait();
    const parked = makeDeferred<boolean>();
    const queue = makeHandOff(() => parked.promise);
    const { api, environment, task } = setUp(queue.handOff);
    const running = runTask(
      { activityArn: arn, activityName, integration: wait.integration },
      task,
      environment,
    );
    wait.finish({ done: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    parked.resolve(true);
    const run = await withTimeout(running);
    assert.deepEqual(run.outcome, { kind: 'handed-off' });
    assert.equal(api.answers.length, 0);
  });

  test('without a hand-off nothing is parked: the wait goes on here to its answer', async () => {
    const wait = makeWait();
    const { api, environment, task } = setUp(undefined);
    const running = runTask(
      { activityArn: arn, activityName, integration: wait.integration },
      task,
      environment,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    wait.finish({ done: true });
    const run = await withTimeout(running);
    assert.equal(run.outcome.kind, 'success');
    assert.equal(api.answers.length, 1);
  });

  test('a carried task is resumed, heartbeated at once, and not parked again by a later checkpoint', async () => {
    const wait = makeWait();
    const queue = makeHandOff(async () => true);
    const { api, environment, task } = setUp(queue.handOff);
    const startedAtMs = Date.now();
    const running = runTask(
      { activityArn: arn, activityName, integration: wait.integration },
      task,
      environment,
      { checkpoint: { jobName: 'job-1' }, handOffCount: 1, firstReceivedAtMs: startedAtMs - 5_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [heartbeat] = api.callsOf('sendTaskHeartbeat');
    assert.ok(heartbeat && heartbeat.atMs - startedAtMs < 50, 'the first heartbeat went at once');
    wait.finish({ done: true });
    const run = await withTimeout(running);
    assert.equal(run.outcome.kind, 'success');
    assert.equal(queue.tasks.length, 0, 'not parked again');
  });

  test('a grace ended because another worker has the task stops it without a hand-off or an answer', async () => {
    const wait = makeWait();
    const queue = makeHandOff(async () => true);
    const grace = new AbortController();
    const { api, environment, task } = setUp(queue.handOff, grace.signal);
    const running = runTask(
      { activityArn: arn, activityName, integration: wait.integration },
      task,
      environment,
      { checkpoint: { jobName: 'job-1' }, handOffCount: 1, firstReceivedAtMs: Date.now() },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    grace.abort(new TaskAbortedError({ kind: 'handed-off' }));
    const run = await withTimeout(running);
    assert.deepEqual(run.outcome, { kind: 'handed-off' });
    assert.equal(queue.tasks.length, 0);
    assert.equal(api.answers.length, 0);
  });
});
