/**
 * Tasks are picked up at once at the default configuration, serving all 15 activities, with 80 %
 * of the slots held by waiting runJob.sync tasks: TaskScheduled -> ActivityStarted read from the
 * execution histories. Long polls are held 10 s here, so a task that has to wait for a poll to come
 * round (as with the old 20 slots and 2 pollers per activity: 4 free slots rotating through 30
 * pollers) misses the bound by seconds. The tight figures come from `npm run bench -- pickup`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../infra/local-stack/worker-on-local-stack.ts';
import { allActivitySuffixes } from '../../infra/state-machines/native-resources.ts';
import { loadConfig } from '../../lib/config.ts';
import {
  type ClusterCoordinates,
  quickTaskDefinition,
  readPickupMs,
  waitingJobDefinition,
} from '../support/pickup-workloads.ts';

const defaults = loadConfig(
  { AWS_REGION: 'us-east-1', EKS_WORKER_ACTIVITY_ARNS: '' },
  {
    activityArns: ['arn:aws:states:us-east-1:123456789012:activity:x-eks-call'],
  },
);
const busyTasks = Math.floor(defaults.maxConcurrentTasks * 0.8);
const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pickup at the defaults, all 15 activities, 80 % of the slots busy', () => {
  let env: WorkerOnLocalStack;
  let cluster: ClusterCoordinates;
  before(async () => {
    env = await startWorkerOnLocalStack({
      stack: { sfn: { longPollHoldMs: 10_000 } },
      // The harness polls once per activity unless told otherwise: use the real default.
      worker: { pollersPerActivity: defaults.pollersPerActivity },
    });
    cluster = {
      ClusterName: env.stack.cluster.clusterName,
      Endpoint: env.stack.cluster.endpoint,
      CertificateAuthority: env.stack.cluster.caData,
    };
  });
  after(() => env.close());

  test(`with ${busyTasks} waiting runJob.sync tasks, a new task of each activity is held within 2 s`, async () => {
    const waiting = await env.createStateMachine(waitingJobDefinition(cluster));
    for (let n = 0; n < busyTasks; n += 1) {
      await env.startExecution(waiting, { jobName: `busy-${n}` });
    }
    const jobs = () => env.stack.cluster.store.list(jobsType, 'default').items.length;
    const deadline = Date.now() + 60_000;
    while (jobs() < busyTasks) {
      if (Date.now() > deadline) throw new Error(`only ${jobs()} of ${busyTasks} Jobs created`);
      await sleep(50);
    }
    // Let the burst's extra polls come back empty and the slots settle.
    await sleep(500);
    assert.ok(env.worker.busySlots >= busyTasks, `busy slots ${env.worker.busySlots}`);

    const pickups: Array<{ suffix: string; pickupMs: number | undefined; status?: string }> = [];
    for (const suffix of allActivitySuffixes) {
      const machine = await env.createStateMachine(
        quickTaskDefinition(suffix, cluster, `quick-${suffix.toLowerCase()}`),
      );
      const arn = await env.startExecution(machine, {});
      const execution = await env.waitForExecution(arn, 30_000);
      pickups.push({
        suffix,
        pickupMs: readPickupMs(await env.history(arn)),
        ...(execution.status ? { status: execution.status } : {}),
      });
      // Tasks arrive one at a time, so each finds whatever polls are in flight at that moment.
      await sleep(200);
    }
    const slow = pickups.filter((p) => p.pickupMs === undefined || p.pickupMs > 2_000);
    assert.deepEqual(slow, [], JSON.stringify(pickups));
  });
});
