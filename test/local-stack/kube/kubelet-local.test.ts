import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import type { KubeObject } from '../../../infra/local-stack/kube/objects.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import {
  containerStatusesOf,
  phaseOf,
  startStoreCluster,
  waitUntil,
} from './support/store-cluster.ts';

const cluster = startStoreCluster({ execution: 'local' });
const scratch = mkdtempSync(join(tmpdir(), 'kubelet-local-test-'));
after(async () => {
  await cluster.close();
  rmSync(scratch, { recursive: true, force: true });
});

const readAll = async (stream: Readable): Promise<string> => {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
};

const seedJob = JSON.parse(
  readFileSync(
    new URL('../../fixtures/seed-examples/01-runjob-sync-with-logs.asl.json', import.meta.url),
    'utf8',
  ),
).States['Run a job on EKS'].Parameters.Job as KubeObject;

const runPod = (name: string, container: Record<string, unknown>): void => {
  cluster.store.create(builtinTypes.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'local', ...container }] },
  });
};

const waitForEnd = (name: string, timeoutMs = 10_000) =>
  waitUntil(
    () => cluster.store.get(builtinTypes.pods, 'default', name),
    (p) => phaseOf(p) === 'Succeeded' || phaseOf(p) === 'Failed',
    timeoutMs,
  );

describe('local execution of containers', () => {
  test('the seed Job pi-2000 runs perl on the host and logs 2000 digits of pi', {
    timeout: 120_000,
  }, async () => {
    cluster.store.create(builtinTypes.jobs, seedJob);
    const job = await waitUntil(
      () => cluster.store.get(builtinTypes.jobs, 'default', 'example-job'),
      (j) => /"type":"(Complete|Failed)"/.test(String(JSON.stringify(j?.status))),
      // bpi(2000) is seconds of CPU for perl; perl 5.36's own Math::BigInt 1.999830 dies on it
      // (Debian's libmath-bigint-perl 1.999838 fixes that).
      90_000,
    );
    const pod = cluster.store.list(
      builtinTypes.pods,
      'default',
      (p) => p.metadata.labels?.['controller-uid'] === job?.metadata.uid,
    ).items[0];
    const log = await readAll(
      await cluster.kubelet.open('default', pod?.metadata.name ?? '', { container: 'pi-2000' }),
    );
    const digits = log.trimEnd();
    assert.equal(phaseOf(pod), 'Succeeded', `perl failed: ${digits.slice(0, 300)}`);
    assert.ok(digits.startsWith('3.14159265358979'), digits.slice(0, 40));
    assert.equal(digits.length, 2001);
    assert.match(digits, /^3\.\d{1999}$/);
  });

  test('the command gets the container env; stdout and stderr both land in the log; the exit code is kept', async () => {
    runPod('env-exit', {
      command: ['sh', '-c', 'echo "hello $GREETING"; echo oops >&2; exit 3'],
      env: [{ name: 'GREETING', value: 'world' }],
    });
    const pod = await waitForEnd('env-exit');
    assert.equal(phaseOf(pod), 'Failed');
    const terminated = containerStatusesOf(pod)[0]?.state.terminated;
    assert.equal(terminated?.exitCode, 3);
    assert.equal(terminated?.reason, 'Error');
    const log = await readAll(
      await cluster.kubelet.open('default', 'env-exit', { timestamps: true }),
    );
    const lines = log.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.slice(31)).sort(), ['hello world', 'oops']);
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
    assert.equal(
      await readAll(
        await cluster.kubelet.open('default', 'env-exit', { tailLines: 1, limitBytes: 2 }),
      ),
      lines.at(-1)?.slice(31, 33),
    );
  });

  test('a missing executable ends the container with 127, ContainerCannotRun', async () => {
    runPod('no-exe', { command: ['definitely-not-a-real-command-xyz'] });
    const pod = await waitForEnd('no-exe');
    const terminated = containerStatusesOf(pod)[0]?.state.terminated;
    assert.equal(terminated?.exitCode, 127);
    assert.equal(terminated?.reason, 'ContainerCannotRun');
    assert.equal(
      terminated?.message,
      'exec: "definitely-not-a-real-command-xyz": executable file not found in $PATH',
    );
  });

  test('follow streams a running process until it exits', async () => {
    runPod('ticker', { command: ['sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.1; done'] });
    await waitUntil(
      () => cluster.store.get(builtinTypes.pods, 'default', 'ticker'),
      (p) => phaseOf(p) === 'Running',
    );
    const stream = await cluster.kubelet.open('default', 'ticker', { follow: true });
    const timer = setTimeout(() => stream.destroy(new Error('follow did not end')), 5_000);
    const text = await readAll(stream);
    clearTimeout(timer);
    assert.equal(text, 'tick 1\ntick 2\ntick 3\n');
  });

  test('deleting the pod stops its process', async () => {
    const pidFile = join(scratch, 'sleeper.pid');
    runPod('sleeper', { command: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`] });
    const pid = await waitUntil(
      () => {
        try {
          return Number(readFileSync(pidFile, 'utf8'));
        } catch {
          return 0;
        }
      },
      (value) => value > 0,
    );
    cluster.store.delete(builtinTypes.pods, 'default', 'sleeper');
    await waitUntil(
      () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      },
      (alive) => !alive,
      5_000,
    );
  });
});
