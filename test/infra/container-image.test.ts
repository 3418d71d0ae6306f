/**
 * The container image. The Dockerfile's settings are checked always (non-root numeric user, exec
 * form entrypoint so SIGTERM reaches node, a Node 22 base, no npm at run time, a minimal build
 * context). The built image itself is run when buildah and the image are on the machine
 * (`scripts/container/build-image-locally.sh`, minutes; no registry is reachable here, so the base
 * image is a local stand-in with Node 22): its entrypoint, as its configured user, serves a task
 * against the local stack, writes nothing to its root filesystem and exits 0 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import {
  makeRunJobFixture,
  type RunJobFixture,
  scriptedJob,
  spawnWorker,
  waitFor,
} from '../support/run-job-fixture.ts';

const imageName = 'localhost/eks-activity-worker:test';

/** The process ids under `pid` (children first found, then theirs), from /proc. */
const descendantsOf = (pid: number): number[] => {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [...children, ...children.flatMap(descendantsOf)];
};

/** The container's main process: the node that `buildah run` started (the runtime's PID 1). */
const containerNode = (buildahPid: number): number | undefined =>
  descendantsOf(buildahPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false;
    }
  });

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions per stage (continuation lines joined, comments dropped). */
const readStages = (text: string): Instruction[][] => {
  const stages: Instruction[][] = [];
  const joined = text.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [keyword = '', ...rest] = trimmed.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
};

describe('the Dockerfile', () => {
  const stages = readStages(readFileSync('Dockerfile', 'utf8'));
  const runtime = stages.at(-1) ?? [];
  const one = (keyword: string) => {
    const found = runtime.filter((i) => i.keyword === keyword);
    assert.equal(found.length, 1, `one ${keyword} in the runtime stage`);
    return found[0]?.args ?? '';
  };

  test('builds in one stage and runs on a small Node 22 base in another', () => {
    assert.equal(stages.length, 2);
    assert.match(one('FROM'), /^node:22-alpine$/);
    assert.ok(stages[0]?.some((i) => i.keyword === 'RUN' && i.args === 'npm run build'));
  });

  test('the runtime stage installs nothing and copies only the bundle', () => {
    assert.ok(!runtime.some((i) => i.keyword === 'RUN'), 'no RUN: no npm, no package manager');
    assert.match(one('COPY'), /^--from=build \/src\/dist\/worker\.mjs /);
  });

  test('runs as a numeric non-root user, so Kubernetes runAsNonRoot can verify it', () => {
    const [user = '', group = ''] = one('USER').split(':');
    assert.match(user, /^\d+$/);
    assert.notEqual(Number(user), 0);
    assert.notEqual(Number(group), 0);
  });

  test('the entrypoint is exec form with node first, so node itself receives SIGTERM', () => {
    const entrypoint = JSON.parse(one('ENTRYPOINT'));
    assert.ok(Array.isArray(entrypoint));
    assert.equal(entrypoint[0], 'node');
    assert.equal(entrypoint.at(-1), '/app/worker.mjs');
    assert.equal(one('STOPSIGNAL'), 'SIGTERM');
    assert.ok(!runtime.some((i) => i.keyword === 'CMD'), 'no CMD that could wrap it in a shell');
  });

  test('the health port it exposes is the one it configures', () => {
    const port = /EKS_WORKER_HTTP_PORT=(\d+)/.exec(one('ENV'))?.[1];
    assert.equal(one('EXPOSE'), port);
  });

  test('the build context is an allow-list of what the build stage copies', () => {
    const ignore = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(ignore[0], '*');
    const copied = (stages[0] ?? [])
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const path of copied) assert.ok(ignore.includes(`!${path}`), `${path} is in the context`);
  });
});

const buildahAvailable = spawnSync('buildah', ['--version']).status === 0;
const imageAvailable =
  buildahAvailable && spawnSync('buildah', ['inspect', '--type', 'image', imageName]).status === 0;

describe('the built image', { skip: imageAvailable ? false : `no ${imageName} (buildah)` }, () => {
  let stack: LocalStack;
  let fixture: RunJobFixture;
  let container: string;
  let config: { User: string; Entrypoint: string[]; StopSignal: string };

  before(async () => {
    config = JSON.parse(
      execFileSync('buildah', ['inspect', '--type', 'image', imageName], { encoding: 'utf8' }),
    ).OCIv1.config;
    container = execFileSync('buildah', ['from', '--pull=never', imageName], {
      encoding: 'utf8',
    }).trim();
    stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
    fixture = await makeRunJobFixture(stack, 'image');
  });

  after(async () => {
    if (container) spawnSync('buildah', ['rm', container]);
    fixture?.close();
    await stack?.close();
  });

  test('it runs Node 22 as its non-root user', () => {
    const probe = execFileSync(
      'buildah',
      [
        'run',
        '--isolation',
        'chroot',
        container,
        '--',
        'node',
        '-p',
        'process.version + " " + process.getuid()',
      ],
      { encoding: 'utf8' },
    ).trim();
    assert.match(probe, /^v22\.\d+\.\d+ 1000$/);
  });

  test('its entrypoint, as its own user, serves a task, writes nothing and exits 0 on SIGTERM', async () => {
    const rootfs = execFileSync('buildah', ['mount', container], { encoding: 'utf8' }).trim();
    const filesBefore = execFileSync('find', [rootfs, '-xdev'], { encoding: 'utf8' });
    const env = {
      ...stack.awsEnvironment(),
      EKS_WORKER_ACTIVITY_ARNS: fixture.activityArn,
      EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
      // The image listens on 8080; another free port here, on a machine shared with others.
      EKS_WORKER_HTTP_PORT: '0',
      EKS_WORKER_NAME: 'image-test',
    };
    // chroot isolation shares the host's network, so the container reaches the local stack on
    // 127.0.0.1; the user and working directory come from the image configuration.
    const worker = spawnWorker(
      'buildah',
      [
        'run',
        '--isolation',
        'chroot',
        ...Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]),
        container,
        '--',
        ...config.Entrypoint,
      ],
      {},
    );
    try {
      const listening = await waitFor(
        () =>
          worker
            .output()
            .split('\n')
            .find((l) => l.includes('Health and metrics listening')),
        (line) => line !== undefined,
        'the worker in the image to listen',
      );
      const port = JSON.parse(listening ?? '{}').port;
      const execution = await fixture.runJob(scriptedJob('from-the-image', 100));
      assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${worker.output()}`);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^eks_activity_worker_tasks_succeeded_total 1$/m);
      // What a container runtime does on stop: the STOPSIGNAL to the container's main process.
      // (`buildah run` itself does not forward signals; it kills its child instead.)
      const node = containerNode(worker.child.pid ?? -1);
      assert.ok(node, 'the node process of the container');
      process.kill(node, config.StopSignal as NodeJS.Signals);
      assert.equal(await worker.exited, 0, worker.output());
      assert.doesNotMatch(worker.output(), /Warning/);
    } finally {
      worker.child.kill('SIGKILL');
    }
    const filesAfter = execFileSync('find', [rootfs, '-xdev'], { encoding: 'utf8' });
    assert.equal(filesAfter, filesBefore, 'nothing written to the root filesystem');
  });
});
