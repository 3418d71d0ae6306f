import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { scriptAnnotation } from '../../../infra/local-stack/kube/kubelet/container-script.ts';
import type { PodLogQuery } from '../../../infra/local-stack/kube/log-source.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import type { KubeApiError } from '../../../infra/local-stack/kube/status.ts';
import {
  containerStatusesOf,
  phaseOf,
  startStoreCluster,
  waitUntil,
} from './support/store-cluster.ts';

const cluster = startStoreCluster();
after(() => cluster.close());

const readAll = async (stream: Readable, timeoutMs = 5_000): Promise<string> => {
  const timer = setTimeout(() => stream.destroy(new Error('read timed out')), timeoutMs);
  try {
    let text = '';
    for await (const chunk of stream) text += chunk.toString();
    return text;
  } finally {
    clearTimeout(timer);
  }
};

let podCounter = 0;
const createPod = (
  script: unknown,
  containers: string[] = ['main'],
  restartPolicy = 'Never',
): string => {
  podCounter += 1;
  const name = `logs-${podCounter}`;
  cluster.store.create(builtinTypes.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: { [scriptAnnotation]: JSON.stringify(script) } },
    spec: { restartPolicy, containers: containers.map((c) => ({ name: c, image: 'busybox' })) },
  });
  return name;
};

const waitForPhase = (name: string, phases: string[]) =>
  waitUntil(
    () => cluster.store.get(builtinTypes.pods, 'default', name),
    (pod) => phases.includes(String(phaseOf(pod))),
  );

const readLog = async (name: string, query: PodLogQuery = {}): Promise<string> =>
  readAll(await cluster.kubelet.open('default', name, query));

const fiveLines = { durationMs: 20, log: { lines: ['one', 'two', 'three', 'four', 'five'] } };

describe('pod logs from the simulated kubelet', () => {
  test('a finished container returns its whole scripted log', async () => {
    const name = createPod(fiveLines);
    await waitForPhase(name, ['Succeeded']);
    assert.equal(await readLog(name), 'one\ntwo\nthree\nfour\nfive\n');
  });

  test('tailLines keeps the last lines', async () => {
    const name = createPod(fiveLines);
    await waitForPhase(name, ['Succeeded']);
    assert.equal(await readLog(name, { tailLines: 2 }), 'four\nfive\n');
    assert.equal(await readLog(name, { tailLines: 0 }), '');
  });

  test('limitBytes cuts the output after that many bytes, mid-line', async () => {
    const name = createPod(fiveLines);
    await waitForPhase(name, ['Succeeded']);
    assert.equal(await readLog(name, { limitBytes: 6 }), 'one\ntw');
  });

  test('timestamps prefix each line with an RFC 3339 time of nine fractional digits', async () => {
    const name = createPod(fiveLines);
    await waitForPhase(name, ['Succeeded']);
    const lines = (await readLog(name, { timestamps: true })).trimEnd().split('\n');
    assert.equal(lines.length, 5);
    for (const line of lines) {
      assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two|three|four|five)$/);
    }
    const times = lines.map((l) => l.slice(0, 30));
    assert.deepEqual([...times].sort(), times, 'timestamps never go backwards');
  });

  test('timestamps count toward limitBytes, as the kubelet applies the limit last', async () => {
    const name = createPod(fiveLines);
    await waitForPhase(name, ['Succeeded']);
    const text = await readLog(name, { timestamps: true, limitBytes: 33 });
    assert.match(text, /^\d{4}-\d\d-\d\dT[\d:.]{18}Z on$/);
  });

  test('sinceSeconds keeps only the lines of the last seconds', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `entry ${i}`);
    const name = createPod({ durationMs: 1_500, log: { lines } });
    await waitForPhase(name, ['Succeeded']);
    const recent = (await readLog(name, { sinceSeconds: 1 })).trimEnd().split('\n');
    assert.ok(recent.length > 0 && recent.length < 30, `got ${recent.length} lines`);
    assert.equal(recent.at(-1), 'entry 29');
    assert.notEqual(recent[0], 'entry 0');
  });

  test('a multi-container pod needs a container name', async () => {
    const name = createPod(fiveLines, ['app', 'sidecar']);
    await waitForPhase(name, ['Succeeded']);
    await assert.rejects(readLog(name), (error: KubeApiError) => {
      assert.equal(error.status.code, 400);
      assert.equal(error.status.reason, 'BadRequest');
      assert.equal(
        error.status.message,
        `a container name must be specified for pod ${name}, choose one of: [app sidecar]`,
      );
      return true;
    });
    assert.equal(await readLog(name, { container: 'sidecar', tailLines: 1 }), 'five\n');
  });

  test('a script map gives each container its own log', async () => {
    const name = createPod(
      { app: { durationMs: 10, log: { lines: ['from app'] } }, db: { log: { json: { ok: 1 } } } },
      ['app', 'db'],
    );
    await waitForPhase(name, ['Succeeded']);
    assert.equal(await readLog(name, { container: 'app' }), 'from app\n');
    assert.equal(await readLog(name, { container: 'db' }), '{"ok":1}\n');
  });

  test('an unknown pod is 404', async () => {
    await assert.rejects(readLog('no-such-pod'), (error: KubeApiError) => {
      assert.equal(error.status.code, 404);
      assert.equal(error.status.message, 'pods "no-such-pod" not found');
      return true;
    });
  });

  test('previous gives the log of the attempt before a restart, and 400 when there is none', async () => {
    const name = createPod(
      { durationMs: 20, failAttempts: 1, log: { lines: ['attempt'] } },
      ['main'],
      'OnFailure',
    );
    await waitForPhase(name, ['Succeeded']);
    const pod = cluster.store.get(builtinTypes.pods, 'default', name);
    const status = containerStatusesOf(pod)[0];
    assert.equal(status?.restartCount, 1);
    assert.equal(status?.lastState.terminated?.exitCode, 1);
    assert.equal(await readLog(name, { previous: true }), 'attempt\n');

    const once = createPod(fiveLines);
    await waitForPhase(once, ['Succeeded']);
    await assert.rejects(readLog(once, { previous: true }), (error: KubeApiError) => {
      assert.equal(error.status.code, 400);
      assert.equal(
        error.status.message,
        `previous terminated container "main" in pod "${once}" not found`,
      );
      return true;
    });
  });

  test('follow streams lines as they appear and ends when the container ends', async () => {
    const lines = ['a', 'b', 'c', 'd'];
    const name = createPod({ durationMs: 400, log: { lines } });
    await waitForPhase(name, ['Running']);
    const stream = await cluster.kubelet.open('default', name, { follow: true });
    const text = await readAll(stream);
    assert.equal(text, 'a\nb\nc\nd\n');
    assert.equal(phaseOf(cluster.store.get(builtinTypes.pods, 'default', name)), 'Succeeded');
  });

  test('a running container without follow gives the lines so far and ends', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `tick ${i}`);
    const name = createPod({ durationMs: 2_000, log: { lines } });
    await waitForPhase(name, ['Running']);
    const text = await readLog(name);
    const got = text.trimEnd().split('\n');
    assert.ok(got.length >= 1 && got.length < 10, `got ${got.length} lines`);
    assert.deepEqual(got, lines.slice(0, got.length));
  });

  test('a generated log of 5 GB is tailed and limited at once, without growing memory', async () => {
    const name = createPod({
      durationMs: 10,
      log: { bytes: 5 * 1024 ** 3, lineBytes: 100 },
    });
    await waitForPhase(name, ['Succeeded']);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    const tail = await readLog(name, { tailLines: 2 });
    const lastIndex = Math.ceil((5 * 1024 ** 3) / 100) - 1;
    const lines = tail.split('\n');
    assert.equal(lines.length, 3);
    assert.ok(lines[1]?.startsWith(`line ${String(lastIndex).padStart(9, '0')} x`));
    assert.equal(Buffer.byteLength(`${lines[0]}\n`), 100);
    const head = await readLog(name, { limitBytes: 250 });
    assert.equal(head.length, 250);
    assert.ok(head.startsWith('line 000000000 xxx'));
    assert.ok(head.includes('\nline 000000001 x'));
    // A 20 MB read through a 5 GB log: streamed in chunks, never whole.
    let received = 0;
    const big = await cluster.kubelet.open('default', name, { limitBytes: 20 * 1024 * 1024 });
    for await (const chunk of big) received += (chunk as Buffer).length;
    assert.equal(received, 20 * 1024 * 1024);
    assert.ok(Date.now() - started < 5_000, 'fast');
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
  });

  test('a waiting container has no log yet: 400 with the kubelet message', async () => {
    const slow = startStoreCluster({ podStartDelayMs: 5_000 });
    try {
      slow.store.create(builtinTypes.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'slow' },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
      });
      await assert.rejects(slow.kubelet.open('default', 'slow', {}), (error: KubeApiError) => {
        assert.equal(error.status.code, 400);
        assert.equal(
          error.status.message,
          'container "main" in pod "slow" is waiting to start: ContainerCreating',
        );
        return true;
      });
    } finally {
      await slow.close();
    }
  });

  test('an image that cannot be pulled: waiting ImagePullBackOff, pod Pending, logs refused', async () => {
    const name = createPod({ imagePullError: true });
    const pod = await waitUntil(
      () => cluster.store.get(builtinTypes.pods, 'default', name),
      (p) => JSON.stringify(p?.status).includes('"reason":"ImagePullBackOff"'),
    );
    assert.equal(phaseOf(pod), 'Pending');
    const waiting = containerStatusesOf(pod)[0]?.state.waiting;
    assert.equal(waiting?.message, 'Back-off pulling image "busybox"');
    await assert.rejects(readLog(name), (error: KubeApiError) => {
      assert.equal(
        error.status.message,
        `container "main" in pod "${name}" is waiting to start: trying and failing to pull image`,
      );
      return true;
    });
  });
});
