import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { startHeartbeater } from '../../../lib/worker/heartbeater.ts';
import type { ActivityApi } from '../../../lib/worker/ports.ts';
import { VirtualClock } from '../../support/virtual-clock.ts';

test('heartbeats go out at a fixed rate: a slow answer does not push the next one later', async () => {
  const clock = new VirtualClock();
  const sentAtMs: number[] = [];
  const activityApi = {
    // Each heartbeat takes 600 ms to be answered, as under load.
    sendTaskHeartbeat: async (_request: unknown, signal?: AbortSignal) => {
      sentAtMs.push(clock.now());
      await clock.sleep(600, signal);
    },
  } as unknown as ActivityApi;
  const heartbeater = startHeartbeater({
    activityApi,
    taskToken: 'token',
    heartbeatIntervalMs: 3_000,
    retryBackoff: { baseDelayMs: 100, maxDelayMs: 1_000 },
    clock,
    random: () => 0.5,
    logger: new Logger({ logLevel: 'SILENT' }),
    onTaskGone: () => {},
  });

  await clock.runUntil(15_500);
  await heartbeater.stop();

  assert.deepEqual(sentAtMs, [3_000, 6_000, 9_000, 12_000, 15_000]);
});
