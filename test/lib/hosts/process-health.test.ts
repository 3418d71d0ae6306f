import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePollLoopHealth } from '../../../lib/hosts/process-health.ts';
import type { ActivityApi, PolledTask } from '../../../lib/worker/ports.ts';

/** An ActivityApi whose long polls end when the test says so. */
const makeHeldPolls = () => {
  const waiting: Array<(task: PolledTask) => void> = [];
  const api: ActivityApi = {
    getActivityTask: () => new Promise((resolve) => waiting.push(resolve)),
    sendTaskSuccess: async () => {},
    sendTaskFailure: async () => {},
    sendTaskHeartbeat: async () => {},
  };
  return { api, endOnePoll: () => waiting.shift()?.({}) };
};

const setUp = (maxConcurrentTasks = 2) => {
  let nowMs = 1_000_000;
  const polls = makeHeldPolls();
  const health = makePollLoopHealth({
    activityApi: polls.api,
    maxConcurrentTasks,
    clock: { now: () => nowMs },
    stallAfterMs: 120_000,
  });
  return {
    health,
    polls,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
};

const poll = (api: ActivityApi) =>
  api.getActivityTask({ activityArn: 'arn:aws:states:x', workerName: 'w' });

describe('the poll loop health behind /healthz and /readyz', () => {
  test('a starting worker is alive but not ready', () => {
    const { health } = setUp();
    assert.deepEqual(health.report(), { live: true, ready: false, detail: 'starting' });
  });

  test('a polling worker is alive and ready, and counts its polls in flight', async () => {
    const { health, polls } = setUp();
    health.started(() => 1);
    const pending = poll(health.activityApi);
    assert.equal(health.pollsInFlight, 1);
    assert.equal(health.report().ready, true);
    polls.endOnePoll();
    await pending;
    assert.equal(health.pollsInFlight, 0);
    assert.equal(health.report().live, true);
  });

  test('a loop that neither starts nor ends a poll for longer than the stall limit is not alive', () => {
    const { health, advance } = setUp();
    health.started(() => 1); // one slot held by a poll that never returns
    void poll(health.activityApi);
    advance(120_001);
    const report = health.report();
    assert.equal(report.live, false);
    assert.equal(report.ready, false);
    assert.match(report.detail, /no poll started or ended for 120001 ms/);
  });

  test('progress within the limit keeps it alive: each poll that ends counts', async () => {
    const { health, polls, advance } = setUp();
    health.started(() => 1);
    const first = poll(health.activityApi);
    advance(100_000);
    polls.endOnePoll();
    await first;
    advance(100_000);
    assert.equal(health.report().live, true);
  });

  test('every slot held by a running task is waiting for room, not stuck', () => {
    const { health, advance } = setUp(2);
    health.started(() => 2);
    advance(600_000);
    assert.deepEqual(health.report(), { live: true, ready: true, detail: 'all slots busy' });
  });

  test('a stopping worker is not ready but still alive, so it is not killed mid-shutdown', () => {
    const { health, advance } = setUp();
    health.started(() => 0);
    health.stopping();
    advance(600_000);
    assert.deepEqual(health.report(), { live: true, ready: false, detail: 'stopping' });
  });
});
