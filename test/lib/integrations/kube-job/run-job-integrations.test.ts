import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailedError } from '../../../../lib/errors.ts';
import type { KubeJob } from '../../../../lib/integrations/kube-job/job-api.ts';
import {
  makeRunJobIntegrations,
  type RunJobOptions,
} from '../../../../lib/integrations/kube-job/run-job-integrations.ts';
import { TaskAbortedError } from '../../../../lib/integrations/types.ts';
import { VirtualClock } from '../../../support/virtual-clock.ts';
import { FakeJobApi, makeJobPod, makeStatusError } from './support/fake-job-api.ts';
import { makeTaskContext } from './support/task-context.ts';

const testTimeoutMs = 3000;

const jobSpec = (metadata: Record<string, string>) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata,
  spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } },
});

const setUp = (options: RunJobOptions = {}) => {
  const api = new FakeJobApi();
  const opened: unknown[] = [];
  const [runJob, runJobSync] = makeRunJobIntegrations({
    pollIntervalMs: 60_000,
    ...options,
    openJobApi: async (cluster) => {
      opened.push(cluster);
      return api;
    },
  });
  return { api, runJob, runJobSync, opened };
};

/** Resolves with the first Job the fake holds, once the integration has created it. */
const waitForCreatedJob = async (api: FakeJobApi): Promise<KubeJob> => {
  for (let i = 0; i < 200; i++) {
    const [job] = api.jobs.values();
    if (job) return job;
    await sleep(5);
  }
  throw new Error('no Job was created');
};

describe('eks:runJob', () => {
  test('creates the Job and outputs it without managedFields', async () => {
    const { api, runJob, opened } = setUp();
    assert.equal(runJob.activitySuffix, 'eks-runJob');
    const output = (await runJob.run(
      { ClusterName: 'c1', Namespace: 'team-a', Job: jobSpec({ name: 'once' }) },
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    )) as KubeJob;
    assert.equal(output.metadata?.name, 'once');
    assert.equal(output.metadata?.namespace, 'team-a');
    assert.equal(output.metadata?.managedFields, undefined);
    assert.ok(output.metadata?.uid);
    assert.deepEqual(opened, [{ clusterName: 'c1' }]);
    assert.equal(api.callsOf('subscribeToJob').length, 0);
  });

  test('invalid input is refused before any cluster is opened', async () => {
    const { runJob, opened } = setUp();
    await assert.rejects(
      runJob.run(
        { Job: jobSpec({ name: 'x' }) },
        makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
      ),
      (error: unknown) =>
        error instanceof TaskFailedError && error.errorName === 'EKS.InvalidParameters',
    );
    assert.equal(opened.length, 0);
  });
});

describe('eks:runJob.sync', () => {
  test('follows the server-assigned name of a generateName Job to its end', async () => {
    const { api, runJobSync } = setUp();
    assert.equal(runJobSync.activitySuffix, 'eks-runJob-sync');
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ generateName: 'pi-' }) },
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    );
    const created = await waitForCreatedJob(api);
    const name = created.metadata?.name ?? '';
    assert.match(name, /^pi-.+/);
    api.finishJob('default', name, 'Complete');
    const output = (await running) as KubeJob;
    assert.equal(output.metadata?.name, name);
    assert.equal(output.metadata?.managedFields, undefined);
    assert.equal(output.status?.conditions?.at(-1)?.type, 'Complete');
    assert.equal('logs' in output, false);
    assert.equal(api.callsOf('subscribeToJob')[0]?.args[1], name);
  });

  test("the wait sleeps on the task's clock (the worker's), not on the system's", async () => {
    const { api, runJobSync } = setUp();
    // A refused watch leaves only polling: an hour-long poll interval on a virtual clock.
    api.watchError = makeStatusError(403, 'Forbidden', 'watch is forbidden');
    const clock = new VirtualClock();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'on-the-clock' }) },
      { ...makeTaskContext(AbortSignal.timeout(testTimeoutMs)), clock },
    );
    await waitForCreatedJob(api);
    api.finishJob('default', 'on-the-clock', 'Complete');
    await clock.advance(60_000);
    const output = (await running) as KubeJob;
    assert.equal(output.status?.conditions?.at(-1)?.type, 'Complete');
    assert.equal(api.callsOf('getJob').length, 1);
  });

  test('with RetrieveLogs the output carries the logs of the Job own pods only', async () => {
    const { api, runJobSync } = setUp();
    const running = runJobSync.run(
      {
        ClusterName: 'c1',
        Job: jobSpec({ name: 'with-logs' }),
        LogOptions: { RetrieveLogs: true },
      },
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    );
    const created = await waitForCreatedJob(api);
    api.pods = [
      makeJobPod(created, 'with-logs-abc', ['main']),
      // Same job-name label, another controller-uid: a previous Job of the same name.
      makeJobPod(
        { ...created, metadata: { ...created.metadata, uid: 'old-uid' } },
        'with-logs-old',
        ['main'],
      ),
    ];
    api.logs.set('with-logs-abc/main', '{"pi": 3.14}\n');
    api.logs.set('with-logs-old/main', 'stale\n');
    api.finishJob('default', 'with-logs', 'Complete');
    const output = (await running) as KubeJob & { logs: unknown };
    assert.deepEqual(output.logs, {
      pods: { 'with-logs-abc': { containers: { main: { log: { pi: 3.14 } } } } },
    });
    assert.equal(
      api.callsOf('listPods')[0]?.args[1],
      `batch.kubernetes.io/controller-uid=${created.metadata?.uid}`,
    );
  });

  test('a failed Job fails the task with EKS.JobFailed and a cause that says why', async () => {
    const { api, runJobSync } = setUp();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'doomed' }), LogOptions: { RetrieveLogs: true } },
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    );
    const created = await waitForCreatedJob(api);
    api.pods = [
      makeJobPod(created, 'doomed-oom', ['main'], {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'main',
            state: { terminated: { exitCode: 137, reason: 'OOMKilled', message: 'out of memory' } },
          },
        ],
      }),
      makeJobPod(created, 'doomed-pull', ['main'], {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'main',
            state: {
              waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope"' },
            },
          },
        ],
      }),
      makeJobPod(created, 'doomed-ok', ['main'], {
        phase: 'Succeeded',
        containerStatuses: [
          { name: 'main', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      }),
    ];
    api.logs.set(
      'doomed-oom/main',
      `${Array.from({ length: 50 }, (_, i) => `step ${i}`).join('\n')}\n`,
    );
    api.finishJob('default', 'doomed', 'Failed', 'BackoffLimitExceeded');
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      assert.equal(error.errorName, 'EKS.JobFailed');
      const cause = error.failureCause as Record<string, unknown>;
      assert.equal(cause.JobName, 'doomed');
      assert.equal(cause.Namespace, 'default');
      assert.equal(cause.Uid, created.metadata?.uid);
      assert.deepEqual(cause.Condition, {
        Type: 'Failed',
        Reason: 'BackoffLimitExceeded',
        Message: 'Job has reached the specified backoff limit',
      });
      const pods = cause.FailedPods as {
        Name: string;
        Phase: string;
        Containers: Record<string, unknown>[];
      }[];
      assert.deepEqual(
        pods.map((pod) => pod.Name),
        ['doomed-oom', 'doomed-pull'],
      );
      const oom = pods[0]?.Containers[0] as Record<string, unknown>;
      assert.equal(oom.Reason, 'OOMKilled');
      assert.equal(oom.ExitCode, 137);
      assert.equal(oom.Message, 'out of memory');
      const logTail = String(oom.LogTail);
      assert.equal(logTail.split('\n').filter(Boolean).length, 20);
      assert.ok(logTail.endsWith('step 49\n'));
      assert.deepEqual(pods[1]?.Containers[0], {
        Name: 'main',
        State: 'waiting',
        Reason: 'ImagePullBackOff',
        Message: 'Back-off pulling image "nope"',
      });
      assert.ok(JSON.stringify(cause).length < 32_768);
      return true;
    });
  });

  test('a pod deleted by the Job controller before the failure is described as last seen', async () => {
    const { api, runJobSync } = setUp();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'deadline' }) },
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    );
    const created = await waitForCreatedJob(api);
    await sleep(10);
    const stuck = makeJobPod(created, 'deadline-x', ['main'], {
      phase: 'Pending',
      containerStatuses: [{ name: 'main', state: { waiting: { reason: 'ImagePullBackOff' } } }],
    });
    api.emitPodEvent({ type: 'MODIFIED', object: stuck });
    api.emitPodEvent({ type: 'DELETED', object: stuck });
    api.finishJob('default', 'deadline', 'Failed', 'DeadlineExceeded');
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      const cause = error.failureCause as {
        FailedPods: { Name: string; Containers: { Reason: string }[] }[];
      };
      assert.equal(cause.FailedPods[0]?.Name, 'deadline-x');
      assert.equal(cause.FailedPods[0]?.Containers[0]?.Reason, 'ImagePullBackOff');
      return true;
    });
    assert.equal(
      api.callsOf('subscribeToPods')[0]?.args[1],
      `batch.kubernetes.io/controller-uid=${created.metadata?.uid}`,
    );
  });

  test('without RetrieveLogs a failed Job cause carries no log lines', async () => {
    const { api, runJobSync } = setUp();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'doomed' }) },
      makeTaskContext(AbortSignal.timeout(testTimeoutMs)),
    );
    const created = await waitForCreatedJob(api);
    api.pods = [
      makeJobPod(created, 'doomed-1', ['main'], {
        phase: 'Failed',
        containerStatuses: [
          { name: 'main', state: { terminated: { exitCode: 1, reason: 'Error' } } },
        ],
      }),
    ];
    api.logs.set('doomed-1/main', 'boom\n');
    api.finishJob('default', 'doomed', 'Failed', 'BackoffLimitExceeded');
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof TaskFailedError);
      const cause = error.failureCause as {
        FailedPods: { Containers: Record<string, unknown>[] }[];
      };
      assert.equal(cause.FailedPods[0]?.Containers[0]?.LogTail, undefined);
      return true;
    });
    assert.equal(api.callsOf('readLog').length, 0);
  });

  for (const cleanupOnAbandon of [true, false]) {
    test(`an abandoned task ${cleanupOnAbandon ? 'deletes' : 'leaves'} the Job with cleanupOnAbandon ${cleanupOnAbandon ? 'on' : 'off'}`, async () => {
      const { api, runJobSync } = setUp({ cleanupOnAbandon });
      const controller = new AbortController();
      const running = runJobSync.run(
        { ClusterName: 'c1', Job: jobSpec({ name: 'abandoned' }) },
        makeTaskContext(controller.signal),
      );
      await waitForCreatedJob(api);
      const reason = new TaskAbortedError({ kind: 'abandoned', sfnError: 'TaskTimedOut' });
      controller.abort(reason);
      await assert.rejects(running, (error: unknown) => error === reason);
      const deletes = api.callsOf('deleteJob').map((call) => call.args);
      assert.deepEqual(deletes, cleanupOnAbandon ? [['default', 'abandoned', 'Background']] : []);
      assert.equal(api.jobs.size, cleanupOnAbandon ? 0 : 1);
    });
  }

  test('the worker configuration in the task context turns clean-up on', async () => {
    const { api, runJobSync } = setUp();
    const controller = new AbortController();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'configured' }) },
      { ...makeTaskContext(controller.signal), cleanupOnAbandon: true },
    );
    await waitForCreatedJob(api);
    controller.abort(new TaskAbortedError({ kind: 'abandoned', sfnError: 'TaskDoesNotExist' }));
    await assert.rejects(running, TaskAbortedError);
    assert.deepEqual(
      api.callsOf('deleteJob').map((call) => call.args),
      [['default', 'configured', 'Background']],
    );
  });

  test('a task stopped by worker shutdown that will be handed off leaves the Job running', async () => {
    const { api, runJobSync } = setUp({ cleanupOnAbandon: true });
    const controller = new AbortController();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'handed-off' }) },
      { ...makeTaskContext(controller.signal), handsOffOnShutdown: true },
    );
    await waitForCreatedJob(api);
    controller.abort(new TaskAbortedError({ kind: 'shutdown' }));
    await assert.rejects(running, TaskAbortedError);
    assert.equal(api.callsOf('deleteJob').length, 0);
  });

  test('a task interrupted without a hand-off deletes its Job with clean-up on', async () => {
    const { api, runJobSync } = setUp({ cleanupOnAbandon: true });
    const controller = new AbortController();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'interrupted' }) },
      { ...makeTaskContext(controller.signal), handsOffOnShutdown: false },
    );
    await waitForCreatedJob(api);
    controller.abort(new TaskAbortedError({ kind: 'shutdown' }));
    await assert.rejects(running, TaskAbortedError);
    assert.deepEqual(
      api.callsOf('deleteJob').map((call) => call.args.slice(0, 3)),
      [['default', 'interrupted', 'Background']],
    );
  });

  test('a task interrupted without a hand-off leaves its Job with clean-up off', async () => {
    const { api, runJobSync } = setUp({ cleanupOnAbandon: false });
    const controller = new AbortController();
    const running = runJobSync.run(
      { ClusterName: 'c1', Job: jobSpec({ name: 'interrupted' }) },
      makeTaskContext(controller.signal),
    );
    await waitForCreatedJob(api);
    controller.abort(new TaskAbortedError({ kind: 'shutdown' }));
    await assert.rejects(running, TaskAbortedError);
    assert.equal(api.callsOf('deleteJob').length, 0);
  });
});

describe('a retry that finds the name taken (contract §6)', () => {
  const input = { ClusterName: 'c1', Job: jobSpec({ name: 'fixed' }) };

  /** A first attempt that created its Job and was then interrupted (clean-up off). */
  const interruptedAttempt = async (
    api: FakeJobApi,
    runJobSync: ReturnType<typeof setUp>['runJobSync'],
  ) => {
    const controller = new AbortController();
    const first = runJobSync.run(input, makeTaskContext(controller.signal));
    const created = await waitForCreatedJob(api);
    controller.abort(new TaskAbortedError({ kind: 'shutdown' }));
    await assert.rejects(first, TaskAbortedError);
    return created;
  };

  test('adopts the still-running Job of an earlier attempt of the same request', async () => {
    const { api, runJobSync } = setUp();
    const created = await interruptedAttempt(api, runJobSync);
    const retry = runJobSync.run(input, makeTaskContext(AbortSignal.timeout(testTimeoutMs)));
    await sleep(20);
    api.finishJob('default', 'fixed', 'Complete');
    const output = (await retry) as KubeJob;
    assert.equal(output.metadata?.uid, created.metadata?.uid);
    assert.equal(api.callsOf('createJob').length, 2);
    assert.equal(output.metadata?.annotations, undefined, 'our annotation is not in the output');
    assert.match(
      created.metadata?.annotations?.['eks-activity-worker/request-fingerprint'] ?? '',
      /^[0-9a-f]{64}$/,
    );
  });

  test('eks:runJob (no wait) never adopts: a taken name is EKS.409', async () => {
    const { api, runJob, runJobSync } = setUp();
    await interruptedAttempt(api, runJobSync);
    await assert.rejects(
      runJob.run(input, makeTaskContext(AbortSignal.timeout(testTimeoutMs))),
      (error) => error instanceof TaskFailedError && error.errorName === 'EKS.409',
    );
  });

  test('a Job of the same request that has already finished still gives EKS.409', async () => {
    const { api, runJobSync } = setUp();
    await interruptedAttempt(api, runJobSync);
    api.finishJob('default', 'fixed', 'Complete');
    await assert.rejects(
      runJobSync.run(input, makeTaskContext(AbortSignal.timeout(testTimeoutMs))),
      (error) => error instanceof TaskFailedError && error.errorName === 'EKS.409',
    );
  });

  test('a running Job of a different request gives EKS.409', async () => {
    const { api, runJobSync } = setUp();
    await interruptedAttempt(api, runJobSync);
    const other = {
      ClusterName: 'c1',
      Job: { ...jobSpec({ name: 'fixed' }), spec: { parallelism: 2, template: {} } },
    };
    await assert.rejects(
      runJobSync.run(other, makeTaskContext(AbortSignal.timeout(testTimeoutMs))),
      (error) => error instanceof TaskFailedError && error.errorName === 'EKS.409',
    );
  });

  test('a running Job the worker did not create gives EKS.409', async () => {
    const { api, runJobSync } = setUp();
    await api.createJob('default', jobSpec({ name: 'fixed' }), AbortSignal.timeout(testTimeoutMs));
    await assert.rejects(
      runJobSync.run(input, makeTaskContext(AbortSignal.timeout(testTimeoutMs))),
      (error) => error instanceof TaskFailedError && error.errorName === 'EKS.409',
    );
  });
});
