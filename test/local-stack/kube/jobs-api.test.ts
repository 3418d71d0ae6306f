import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  type LocalKubeCluster,
  startLocalKubeCluster,
} from '../../../infra/local-stack/kube/cluster.ts';
import { scriptAnnotation } from '../../../infra/local-stack/kube/kubelet/container-script.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import { adminConfig, testClusterName } from './support/kube-test-env.ts';
import { phaseOf, waitUntil } from './support/store-cluster.ts';

let cluster: LocalKubeCluster;
let batch: k8s.BatchV1Api;
let core: k8s.CoreV1Api;

before(async () => {
  cluster = await startLocalKubeCluster({
    clusterName: testClusterName,
    podStartDelayMs: 20,
    defaultRunMs: 50,
    backOffDelayMs: 30,
  });
  const kc = await adminConfig(cluster);
  batch = kc.makeApiClient(k8s.BatchV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
});
after(() => cluster.close());

const makeJob = (
  name: string,
  spec: Partial<k8s.V1JobSpec> = {},
  script?: unknown,
  containers: k8s.V1Container[] = [{ name: 'main', image: 'busybox:1.36' }],
): k8s.V1Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    ...spec,
    template: {
      metadata: {
        labels: { app: name },
        ...(script === undefined
          ? {}
          : { annotations: { [scriptAnnotation]: JSON.stringify(script) } }),
      },
      spec: { restartPolicy: 'Never', containers },
    },
  },
});

const readJob = (name: string) => batch.readNamespacedJob({ name, namespace: 'default' });

const isFinished = (job: k8s.V1Job): boolean =>
  (job.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );

/** Polls the Job through the API until it is Complete or Failed. */
const waitForFinish = async (name: string, timeoutMs = 5_000): Promise<k8s.V1Job> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await readJob(name);
    if (isFinished(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`Job ${name} did not finish: ${JSON.stringify(job.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const podsOf = async (job: k8s.V1Job): Promise<k8s.V1Pod[]> =>
  (
    await core.listNamespacedPod({
      namespace: 'default',
      labelSelector: `controller-uid=${job.metadata?.uid}`,
    })
  ).items;

describe('the Job controller through the API server', () => {
  test('a Job succeeds: labelled pods, SuccessCriteriaMet then Complete, counters', async () => {
    await batch.createNamespacedJob({ namespace: 'default', body: makeJob('hello') });
    const job = await waitForFinish('hello');
    const uid = job.metadata?.uid ?? '';
    assert.deepEqual(job.spec?.selector?.matchLabels, {
      'batch.kubernetes.io/controller-uid': uid,
    });
    const conditions = job.status?.conditions ?? [];
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          'SuccessCriteriaMet',
          'True',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        ],
        ['Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
      ],
    );
    for (const c of conditions) {
      assert.ok(c.lastProbeTime instanceof Date && c.lastTransitionTime instanceof Date);
    }
    assert.equal(job.status?.succeeded, 1);
    assert.equal(job.status?.failed, undefined);
    assert.equal(job.status?.active, undefined);
    assert.equal(job.status?.ready, 0);
    assert.equal(job.status?.terminating, 0);
    assert.ok(job.status?.startTime instanceof Date);
    assert.ok(job.status?.completionTime instanceof Date);

    const pods = await podsOf(job);
    assert.equal(pods.length, 1);
    const pod = pods[0];
    assert.ok(pod?.metadata?.name?.startsWith('hello-'));
    assert.equal(pod?.metadata?.generateName, 'hello-');
    assert.deepEqual(pod?.metadata?.labels, {
      app: 'hello',
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'hello',
      'controller-uid': uid,
      'job-name': 'hello',
    });
    assert.deepEqual(
      pod?.metadata?.ownerReferences?.map((ref) => ({ ...ref })),
      [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: 'hello',
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    );
    assert.equal(pod?.status?.phase, 'Succeeded');
    assert.equal(pod?.spec?.nodeName, 'ip-10-0-1-10.ec2.internal');
  });

  test('a succeeded pod reports its container and conditions as a kubelet does', async () => {
    await batch.createNamespacedJob({ namespace: 'default', body: makeJob('pod-status') });
    const job = await waitForFinish('pod-status');
    const [pod] = await podsOf(job);
    assert.deepEqual(
      pod?.status?.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['PodReadyToStartContainers', 'False', undefined],
        ['Initialized', 'True', 'PodCompleted'],
        ['Ready', 'False', 'PodCompleted'],
        ['ContainersReady', 'False', 'PodCompleted'],
        ['PodScheduled', 'True', undefined],
      ],
    );
    const status = pod?.status?.containerStatuses?.[0];
    assert.equal(status?.name, 'main');
    assert.equal(status?.image, 'docker.io/library/busybox:1.36');
    assert.match(status?.imageID ?? '', /^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/);
    assert.match(status?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
    assert.equal(status?.ready, false);
    assert.equal(status?.started, false);
    assert.equal(status?.restartCount, 0);
    assert.equal(status?.state?.terminated?.exitCode, 0);
    assert.equal(status?.state?.terminated?.reason, 'Completed');
    assert.equal(status?.state?.terminated?.containerID, status?.containerID);
    assert.ok(pod?.status?.startTime instanceof Date);
  });

  test('parallelism 3, completions 3: three pods run at once and all succeed', async () => {
    const seen: number[] = [];
    const unsubscribe = cluster.store.subscribe((e) => {
      if (e.resource.resource === 'jobs' && e.object.metadata.name === 'trio') {
        seen.push(Number((e.object.status as { active?: number } | undefined)?.active ?? 0));
      }
    });
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob('trio', { parallelism: 3, completions: 3 }, { durationMs: 150 }),
    });
    const job = await waitForFinish('trio');
    unsubscribe();
    assert.ok(seen.includes(3), `active counts seen: ${seen.join(',')}`);
    assert.equal(job.status?.succeeded, 3);
    assert.equal((await podsOf(job)).length, 3);
  });

  test('failed pods are replaced until failures exceed backoffLimit, then BackoffLimitExceeded', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob('flaky', { backoffLimit: 2 }, { durationMs: 20, failAttempts: 99 }),
    });
    const job = await waitForFinish('flaky');
    assert.deepEqual(
      job.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          'FailureTarget',
          'True',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        ],
        ['Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
      ],
    );
    assert.equal(job.status?.failed, 3);
    assert.equal(job.status?.succeeded, undefined);
    assert.equal(job.status?.completionTime, undefined);
    const pods = await podsOf(job);
    assert.equal(pods.length, 3);
    for (const pod of pods) {
      assert.equal(pod.status?.phase, 'Failed');
      assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Error');
      assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
    }
  });

  test('a Job whose first attempts fail succeeds on a later pod within backoffLimit', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob('retry-ok', { backoffLimit: 3 }, { durationMs: 20, failAttempts: 2 }),
    });
    const job = await waitForFinish('retry-ok');
    assert.equal(job.status?.conditions?.at(-1)?.type, 'Complete');
    assert.equal(job.status?.failed, 2);
    assert.equal(job.status?.succeeded, 1);
  });

  test('an OOMKilled container fails its pod with reason OOMKilled and exit code 137', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob(
        'oom',
        { backoffLimit: 0 },
        { durationMs: 20, exitCode: 137, reason: 'OOMKilled' },
      ),
    });
    const job = await waitForFinish('oom');
    assert.equal(job.status?.conditions?.at(-1)?.reason, 'BackoffLimitExceeded');
    const [pod] = await podsOf(job);
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.reason, 'OOMKilled');
    assert.equal(terminated?.exitCode, 137);
    assert.equal(pod?.status?.phase, 'Failed');
  });

  test('an image that cannot be pulled keeps the pod Pending until activeDeadlineSeconds fails the Job', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob('no-image', { activeDeadlineSeconds: 1 }, { imagePullError: true }),
    });
    const pending = await waitUntil(
      () =>
        cluster.store.list(
          builtinTypes.pods,
          'default',
          (p) => p.metadata.labels?.['job-name'] === 'no-image',
        ).items[0],
      (p) => String(JSON.stringify(p?.status)).includes('ImagePullBackOff'),
    );
    assert.equal(phaseOf(pending), 'Pending');
    const started = Date.now();
    const job = await waitForFinish('no-image', 4_000);
    assert.ok(Date.now() - started < 2_000);
    assert.deepEqual(
      job.status?.conditions?.map((c) => [c.type, c.reason, c.message]),
      [
        ['FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline'],
        ['Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline'],
      ],
    );
    assert.equal(job.status?.failed, 1);
    assert.equal(job.status?.active, undefined);
    assert.deepEqual(await podsOf(job), [], 'the active pod was deleted');
  });

  test('ttlSecondsAfterFinished deletes the finished Job and its pods', async () => {
    const created = await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob('short-lived', { ttlSecondsAfterFinished: 0 }),
    });
    const deadline = Date.now() + 5_000;
    for (;;) {
      const list = await batch.listNamespacedJob({
        namespace: 'default',
        fieldSelector: 'metadata.name=short-lived',
      });
      if (list.items.length === 0) break;
      assert.ok(Date.now() < deadline, 'the Job was not deleted in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(await podsOf(created), []);
  });

  test('a suspended Job makes no pods until resumed', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob('later', { suspend: true }),
    });
    const suspended = await waitUntil(
      () => cluster.store.get(builtinTypes.jobs, 'default', 'later'),
      (j) => String(JSON.stringify(j?.status)).includes('JobSuspended'),
    );
    assert.equal((suspended?.status as { startTime?: string } | undefined)?.startTime, undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await podsOf(await readJob('later')), []);
    await batch.patchNamespacedJob(
      { name: 'later', namespace: 'default', body: { spec: { suspend: false } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const job = await waitForFinish('later');
    const suspendedCondition = job.status?.conditions?.find((c) => c.type === 'Suspended');
    assert.equal(suspendedCondition?.status, 'False');
    assert.equal(suspendedCondition?.reason, 'JobResumed');
    assert.equal(job.status?.succeeded, 1);
  });

  test('pod logs are served through the API with tailLines and a named container', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: makeJob(
        'talker',
        {},
        {
          app: { durationMs: 20, log: { lines: ['a', 'b', 'c'] } },
          side: { log: { json: { ok: true } } },
        },
        [
          { name: 'app', image: 'busybox:1.36' },
          { name: 'side', image: 'busybox:1.36' },
        ],
      ),
    });
    const job = await waitForFinish('talker');
    const [pod] = await podsOf(job);
    const name = pod?.metadata?.name ?? '';
    const tail = await core.readNamespacedPodLog({
      name,
      namespace: 'default',
      container: 'app',
      tailLines: 2,
    });
    assert.equal(tail, 'b\nc\n');
    const side = await core.readNamespacedPodLog({ name, namespace: 'default', container: 'side' });
    assert.equal(side, '{"ok":true}\n');
    await assert.rejects(
      core.readNamespacedPodLog({ name, namespace: 'default' }),
      (error: k8s.ApiException<string>) => {
        assert.equal(error.code, 400);
        assert.match(
          String(error.body),
          /a container name must be specified for pod .*, choose one of: \[app side\]/,
        );
        return true;
      },
    );
  });
});
