/**
 * eks:runJob(.sync) through the real adapter, lib/kube's client and the local cluster (API
 * server, Job controller, scripted kubelet) over HTTPS with real EKS tokens.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { localIdentities, localRegion } from '../../../../infra/local-stack/identities.ts';
import {
  type LocalKubeCluster,
  startLocalKubeCluster,
} from '../../../../infra/local-stack/kube/cluster.ts';
import { builtinTypes } from '../../../../infra/local-stack/kube/resource-types.ts';
import { ClusterNotFoundError, fromDescribed } from '../../../../lib/aws/eks-cluster-lookup.ts';
import { TaskFailedError } from '../../../../lib/errors.ts';
import type { KubeJob } from '../../../../lib/integrations/kube-job/job-api.ts';
import { makeRunJobIntegrations } from '../../../../lib/integrations/kube-job/run-job-integrations.ts';
import type { Integration } from '../../../../lib/integrations/types.ts';
import { type KubeConnector, makeKubeConnector } from '../../../../lib/kube/connection.ts';
import { makeEksTokenProvider } from '../../../../lib/kube/eks-token.ts';
import { makeTaskContext } from './support/task-context.ts';

const clusterName = 'runjob-local-test';
const scriptAnnotation = 'local.eks-activity-worker/script';
const testTimeoutMs = 15_000;
/** Long enough that a quick finish can only come from the watch. */
const slowPollMs = 60_000;

let cluster: LocalKubeCluster;
let connector: KubeConnector;
let runJobSync: Integration;
let runJob: Integration;

before(async () => {
  cluster = await startLocalKubeCluster({ clusterName, podStartDelayMs: 10, defaultRunMs: 50 });
  connector = makeKubeConnector({
    tokens: makeEksTokenProvider({
      region: localRegion,
      credentials: async () => localIdentities.admin,
    }),
    lookup: {
      async describeCluster(name) {
        if (name !== clusterName) throw new ClusterNotFoundError(name, { Message: 'not found' });
        return fromDescribed(clusterName, cluster.endpoint, cluster.caData);
      },
    },
    clientOptions: { retry: { baseDelayMs: 5, maxDelayMs: 50 }, connectTimeoutMs: 2000 },
  });
  [runJob, runJobSync] = makeRunJobIntegrations({
    connect: (target, signal) => connector.connect(target, signal),
    pollIntervalMs: slowPollMs,
  });
});

after(async () => {
  connector?.close();
  await cluster?.close();
});

const coordinates = () => ({
  ClusterName: clusterName,
  Endpoint: cluster.endpoint,
  CertificateAuthority: cluster.caData,
});

const makeJob = (name: string, script: unknown, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    ...spec,
    template: {
      metadata: { annotations: { [scriptAnnotation]: JSON.stringify(script) } },
      spec: { containers: [{ name: 'main', image: 'busybox' }], restartPolicy: 'Never' },
    },
  },
});

const run = (integration: Integration, input: unknown) =>
  integration.run(input, makeTaskContext(AbortSignal.timeout(testTimeoutMs)));

const jobFailedCause = async (running: Promise<unknown>) => {
  let cause: Record<string, unknown> | undefined;
  await assert.rejects(running, (error: unknown) => {
    assert.ok(error instanceof TaskFailedError, String(error));
    assert.equal(error.errorName, 'EKS.JobFailed');
    cause = error.failureCause as Record<string, unknown>;
    return true;
  });
  return cause as {
    JobName: string;
    Condition: { Reason: string };
    FailedPods: { Phase: string; Containers: Record<string, unknown>[] }[];
  };
};

type SyncOutput = KubeJob & {
  logs: {
    pods: Record<string, { containers: Record<string, { log?: unknown; truncated?: true }> }>;
  };
};

describe('eks:runJob(.sync) on the local cluster', () => {
  test('seed example 01 runs with only its coordinates swapped (plus a script)', async () => {
    const machine = JSON.parse(
      readFileSync('/work/shared/fixtures/seed-examples/01-runjob-sync-with-logs.asl.json', 'utf8'),
    );
    const parameters = machine.States['Run a job on EKS'].Parameters;
    const digits = `3.${'14159265358979323846'.repeat(5)}`;
    parameters.Job.metadata.name = 'example-job-01';
    parameters.Job.spec.template.metadata.annotations = {
      [scriptAnnotation]: JSON.stringify({ durationMs: 100, log: { lines: [digits] } }),
    };
    const output = (await run(runJobSync, { ...parameters, ...coordinates() })) as SyncOutput;
    assert.equal(output.metadata?.name, 'example-job-01');
    assert.equal(output.metadata?.managedFields, undefined);
    assert.ok(output.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
    const pods = Object.values(output.logs.pods);
    assert.equal(pods.length, 1);
    assert.deepEqual(pods[0]?.containers['pi-2000'], { log: `${digits}\n` });
  });

  test('eks:runJob returns the created Job at once', async () => {
    const output = (await run(runJob, {
      ...coordinates(),
      Job: makeJob('fire-and-forget', { durationMs: 50 }),
    })) as KubeJob;
    assert.equal(output.metadata?.name, 'fire-and-forget');
    assert.equal(output.metadata?.managedFields, undefined);
    assert.equal(output.status?.conditions, undefined);
  });

  test('a Job given as YAML with generateName is followed by its assigned name', async () => {
    const yaml = [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata: {generateName: gen-}',
      'spec:',
      '  template:',
      '    spec: {containers: [{name: main, image: busybox}], restartPolicy: Never}',
    ].join('\n');
    const output = (await run(runJobSync, { ...coordinates(), Job: yaml })) as KubeJob;
    assert.match(output.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);
    assert.ok(output.status?.conditions?.some((c) => c.type === 'Complete'));
  });

  test('a failing container (exit 1, backoffLimit 0) fails the task with its exit code and log', async () => {
    const cause = await jobFailedCause(
      run(runJobSync, {
        ...coordinates(),
        Job: makeJob('exits-1', {
          durationMs: 50,
          exitCode: 1,
          log: { lines: ['working', 'fatal: no input'] },
        }),
        LogOptions: { RetrieveLogs: true },
      }),
    );
    assert.equal(cause.JobName, 'exits-1');
    assert.equal(cause.Condition.Reason, 'BackoffLimitExceeded');
    assert.equal(cause.FailedPods.length, 1);
    assert.equal(cause.FailedPods[0]?.Phase, 'Failed');
    const container = cause.FailedPods[0]?.Containers[0];
    assert.equal(container?.Reason, 'Error');
    assert.equal(container?.ExitCode, 1);
    assert.equal(container?.LogTail, 'working\nfatal: no input\n');
  });

  test('an OOMKilled container is named in the cause', async () => {
    const cause = await jobFailedCause(
      run(runJobSync, {
        ...coordinates(),
        Job: makeJob('oom', { durationMs: 50, exitCode: 137, reason: 'OOMKilled' }),
      }),
    );
    const container = cause.FailedPods[0]?.Containers[0];
    assert.equal(container?.Reason, 'OOMKilled');
    assert.equal(container?.ExitCode, 137);
  });

  test('an image that cannot be pulled and a deadline fail with DeadlineExceeded', async () => {
    const cause = await jobFailedCause(
      run(runJobSync, {
        ...coordinates(),
        Job: makeJob('no-image', { imagePullError: true }, { activeDeadlineSeconds: 1 }),
      }),
    );
    assert.equal(cause.Condition.Reason, 'DeadlineExceeded');
    // The Job controller deleted the pod on the deadline; it is described as last seen.
    assert.equal(cause.FailedPods.length, 1);
    assert.match(
      String(cause.FailedPods[0]?.Containers[0]?.Reason),
      /^(ImagePullBackOff|ErrImagePull)$/,
    );
  });

  test('a Job of three parallel pods outputs the logs of all three', async () => {
    const output = (await run(runJobSync, {
      ...coordinates(),
      Job: makeJob(
        'three',
        { durationMs: 50, log: { json: { ok: true } } },
        { parallelism: 3, completions: 3 },
      ),
      LogOptions: { RetrieveLogs: true },
    })) as SyncOutput;
    const pods = Object.entries(output.logs.pods);
    assert.equal(pods.length, 3);
    for (const [name, pod] of pods) {
      assert.match(name, /^three-/);
      assert.deepEqual(pod.containers.main, { log: { ok: true } });
    }
  });

  test('a 50 MB log is trimmed to its tail under the output limit', async () => {
    const bytes = 50 * 1024 * 1024;
    const output = (await run(runJobSync, {
      ...coordinates(),
      Job: makeJob('big-log', { durationMs: 50, log: { bytes, lineBytes: 100 } }),
      LogOptions: { RetrieveLogs: true },
    })) as SyncOutput;
    const size = Buffer.byteLength(JSON.stringify(output));
    assert.ok(size <= 262_144, `${size} fits`);
    assert.ok(size > 250_000, `${size} uses the budget`);
    const entry = Object.values(output.logs.pods)[0]?.containers.main;
    assert.equal(entry?.truncated, true);
    const lastLine = bytes / 100 - 1;
    assert.match(
      String(entry?.log),
      new RegExp(`line ${String(lastLine).padStart(9, '0')} x+\\n$`),
    );
    assert.match(String(entry?.log), /^line \d{9} /);
  });

  test('a watch dropped mid-job is resumed and the end is seen without polling', async () => {
    const running = run(runJobSync, {
      ...coordinates(),
      Job: makeJob('dropped-watch', { durationMs: 600 }),
    });
    await sleep(250);
    const dropped = cluster.faults.dropWatches();
    assert.ok(dropped >= 1, 'a watch was open');
    const startedMs = Date.now();
    const output = (await running) as KubeJob;
    assert.ok(output.status?.conditions?.some((c) => c.type === 'Complete'));
    assert.ok(Date.now() - startedMs < 5000);
  });

  test('a watch answered 410 Expired re-reads the Job and still sees the end', async () => {
    cluster.faults.expireNextWatch();
    const output = (await run(runJobSync, {
      ...coordinates(),
      Job: makeJob('expired-watch', { durationMs: 200 }),
    })) as KubeJob;
    assert.ok(output.status?.conditions?.some((c) => c.type === 'Complete'));
  });

  test('a Job deleted while waited on fails with JobDeleted', async () => {
    const running = run(runJobSync, {
      ...coordinates(),
      Job: makeJob('deleted-midway', { durationMs: 5000 }),
    });
    await sleep(200);
    cluster.store.delete(builtinTypes.jobs, 'default', 'deleted-midway', {
      propagationPolicy: 'Background',
    });
    const cause = await jobFailedCause(running);
    assert.equal((cause.Condition as unknown as { Reason: string }).Reason, 'JobDeleted');
  });

  test('an existing name is EKS.409 with the Status as cause', async () => {
    await run(runJob, { ...coordinates(), Job: makeJob('twice', { durationMs: 50 }) });
    await assert.rejects(
      run(runJob, { ...coordinates(), Job: makeJob('twice', { durationMs: 50 }) }),
      (error: unknown) => error instanceof TaskFailedError && error.errorName === 'EKS.409',
    );
  });

  describe('with every watch silent (a half-open connection, a proxy that buffers)', () => {
    const resyncMs = 300;
    let silentConnector: KubeConnector;
    let runJobSyncResynced: Integration;
    before(() => {
      // Its own connector, so its client and shared watches are not the other tests'.
      silentConnector = makeKubeConnector({
        tokens: makeEksTokenProvider({
          region: localRegion,
          credentials: async () => localIdentities.admin,
        }),
        lookup: {
          async describeCluster() {
            return fromDescribed(clusterName, cluster.endpoint, cluster.caData);
          },
        },
      });
      [, runJobSyncResynced] = makeRunJobIntegrations({
        connect: (target, signal) => silentConnector.connect(target, signal),
        pollIntervalMs: resyncMs,
      });
    });
    after(() => silentConnector.close());

    test('the namespace re-list completes every task, with no read of a Job by itself', async () => {
      const unsilence = cluster.faults.silenceWatches();
      try {
        cluster.requests.reset();
        const outputs = (await Promise.all(
          [0, 1, 2, 3, 4].map((i) =>
            run(runJobSyncResynced, {
              ...coordinates(),
              Job: makeJob(`silent-${i}`, { durationMs: 100 }),
            }),
          ),
        )) as KubeJob[];
        for (const output of outputs) {
          assert.ok(output.status?.conditions?.some((c) => c.type === 'Complete'));
        }
        const counts = cluster.requests.snapshot();
        assert.equal(counts['GET /apis/batch/v1/namespaces/{namespace}/jobs/{name}'] ?? 0, 0);
        assert.ok((counts['GET /apis/batch/v1/namespaces/{namespace}/jobs'] ?? 0) >= 1);
      } finally {
        unsilence();
      }
    });

    test('a Job deleted while the watch is silent fails with JobDeleted', async () => {
      const unsilence = cluster.faults.silenceWatches();
      try {
        const running = run(runJobSyncResynced, {
          ...coordinates(),
          Job: makeJob('silent-deleted', { durationMs: 5000 }),
        });
        await sleep(100);
        cluster.store.delete(builtinTypes.jobs, 'default', 'silent-deleted', {
          propagationPolicy: 'Background',
        });
        const cause = await jobFailedCause(running);
        assert.equal((cause.Condition as unknown as { Reason: string }).Reason, 'JobDeleted');
      } finally {
        unsilence();
      }
    });
  });
});
