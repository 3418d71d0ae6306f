import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Integration } from '../../../lib/integrations/types.ts';
import { FakeActivityApi, makeSfnError } from './support/fake-activity-api.ts';
import {
  activityArn,
  ControlledIntegration,
  delay,
  startTestWorker,
  withTimeout,
} from './support/harness.ts';

/** The 15 activity suffixes the Lambda deployment serves. */
const allSuffixes = [
  'eks-runJob',
  'eks-runJob-sync',
  'eks-call',
  ...['Cluster', 'FargateProfile', 'Nodegroup'].flatMap((resource) =>
    ['create', 'delete'].flatMap((verb) => [
      `eks-${verb}${resource}`,
      `eks-${verb}${resource}-sync`,
    ]),
  ),
];

const arnOf = (suffix: string): string => activityArn(`test-${suffix}`);

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
const waitUntil = async (predicate: () => boolean, what: string, timeoutMs = 3_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(5);
  }
};

describe('poll scheduling', () => {
  test('with no work each activity holds exactly one long poll, whatever the poller ceiling', async () => {
    const integrations = ['eks-call', 'eks-runJob', 'eks-runJob-sync'].map(
      (suffix) => new ControlledIntegration(suffix),
    );
    const api = new FakeActivityApi({ longPollMs: 40 });
    const { worker } = startTestWorker(
      integrations,
      { maxConcurrentTasks: 50, pollersPerActivity: 8 },
      { api },
    );
    // Several long-poll holds: polls end empty and are replaced, never multiplied.
    await delay(250);
    await withTimeout(worker.stop({ graceMs: 0 }));
    assert.equal(api.maxPollsInFlight, 3, `idle polls in flight peaked at ${api.maxPollsInFlight}`);
  });

  test('a burst grows the polls of its activity, and they shrink back to one once it is drained', async () => {
    const integration = new ControlledIntegration('eks-call', async () => ({ ok: true }));
    const api = new FakeActivityApi({ longPollMs: 40 });
    const arn = arnOf('eks-call');
    let peak = 0;
    const { worker } = startTestWorker(
      [integration],
      { maxConcurrentTasks: 50, pollersPerActivity: 8 },
      { api },
    );
    await waitUntil(() => api.pollsInFlight === 1, 'the first poll is in flight');
    const sampler = setInterval(() => {
      peak = Math.max(peak, api.pollsInFlightByActivity.get(arn) ?? 0);
    }, 1);
    for (let n = 0; n < 400; n += 1) api.enqueue(arn, { n });
    await api.waitForAnswers(400, 5_000);
    clearInterval(sampler);
    peak = Math.max(peak, api.maxPollsInFlight);
    assert.ok(peak >= 4, `the burst was drained with at most ${peak} polls at once`);
    assert.ok(peak <= 8, `the ceiling of 8 polls was exceeded: ${peak}`);
    // Empty polls lower the target one by one: within a few holds only one poll is left.
    await waitUntil(
      () => (api.pollsInFlightByActivity.get(arn) ?? 0) <= 1,
      'the polls shrink back to one',
    );
    await delay(150);
    assert.equal(api.pollsInFlightByActivity.get(arn), 1);
    await withTimeout(worker.stop({ graceMs: 0 }));
  });

  test('15 activities with 80 of 100 slots busy: every activity keeps a poll, and a new task of each is taken at once', async () => {
    const integrations = allSuffixes.map((suffix) => new ControlledIntegration(suffix));
    const busy = integrations[1] as ControlledIntegration; // eks-runJob-sync: long waits
    // A hold far longer than the bound asserted below: a task that waits for a slot to rotate
    // to its activity (the old behaviour) cannot pass.
    const api = new FakeActivityApi({ longPollMs: 5_000 });
    const { worker } = startTestWorker(
      integrations,
      { maxConcurrentTasks: 100, pollersPerActivity: 2 },
      { api },
    );
    for (let n = 0; n < 80; n += 1) api.enqueue(arnOf('eks-runJob-sync'), { n });
    await busy.waitForCalls(80, 5_000);
    await waitUntil(
      () =>
        allSuffixes.every((suffix) => (api.pollsInFlightByActivity.get(arnOf(suffix)) ?? 0) >= 1),
      'every activity has a poll in flight',
    );

    const enqueuedAt = Date.now();
    for (const suffix of allSuffixes) api.enqueue(arnOf(suffix), { fresh: suffix });
    await waitUntil(
      () =>
        integrations.every((integration) =>
          integration.calls.some((call) => (call.input as { fresh?: string }).fresh !== undefined),
        ),
      'a fresh task of every activity has started',
      1_000,
    );
    const pickupMs = Date.now() - enqueuedAt;
    assert.ok(pickupMs < 1_000, `took ${pickupMs} ms`);

    for (const integration of integrations) for (const call of integration.calls) call.resolve({});
    await api.waitForAnswers(95, 5_000);
    await withTimeout(worker.stop({ graceMs: 0 }), 10_000);
  });

  test('polls in flight plus running tasks never exceed the slots, even while polls autoscale', async () => {
    const suffixes = ['eks-call', 'eks-runJob', 'eks-runJob-sync'];
    let running = 0;
    let violations = 0;
    const capacity = 6;
    const integrations: Integration[] = suffixes.map((suffix) => ({
      activitySuffix: suffix,
      run: async () => {
        running += 1;
        await delay(Math.floor(Math.random() * 8));
        running -= 1;
        return {};
      },
    }));
    const api = new FakeActivityApi({ longPollMs: 20 });
    const poll = api.getActivityTask.bind(api);
    api.getActivityTask = (request) => {
      // The poll about to start counts, as it holds its slot already.
      if (api.pollsInFlight + 1 + running > capacity) violations += 1;
      return poll(request);
    };
    const { worker } = startTestWorker(
      integrations,
      { maxConcurrentTasks: capacity, pollersPerActivity: 8 },
      { api },
    );
    for (let n = 0; n < 60; n += 1) {
      for (const suffix of suffixes) api.enqueue(arnOf(suffix), { n });
    }
    await api.waitForAnswers(180, 10_000);
    await withTimeout(worker.stop({ graceMs: 0 }));
    assert.equal(violations, 0);
    assert.equal(api.answers.length, 180);
  });

  test('an activity whose polls fail backs off alone; the others keep polling and are served', async () => {
    const failing = new ControlledIntegration('eks-runJob');
    const healthy = new ControlledIntegration('eks-call', async () => ({ ok: true }));
    const api = new FakeActivityApi({ longPollMs: 20 });
    const poll = api.getActivityTask.bind(api);
    api.getActivityTask = async (request) => {
      if (request.activityArn === arnOf('eks-runJob')) {
        await delay(1);
        throw makeSfnError('ThrottlingException', 400);
      }
      return poll(request);
    };
    const { worker } = startTestWorker(
      [failing, healthy],
      {
        maxConcurrentTasks: 2,
        pollersPerActivity: 4,
        pollBackoff: { baseDelayMs: 50, maxDelayMs: 200 },
      },
      { api },
    );
    for (let n = 0; n < 20; n += 1) api.enqueue(arnOf('eks-call'), { n });
    await api.waitForAnswers(20, 5_000);
    await withTimeout(worker.stop({ graceMs: 0 }));
    assert.equal(failing.calls.length, 0);
  });
});
