/**
 * The deployable long-lived worker: `npm run build` writes one plain JavaScript file that starts
 * with `node dist/worker.mjs` (or as the package's `bin`) with no node_modules and no TypeScript
 * loader anywhere near it, and serves a task against the local stack. Production starts never
 * fall back to the demo or the installer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import {
  makeRunJobFixture,
  type RunJobFixture,
  scriptedJob,
  spawnWorker,
} from '../support/run-job-fixture.ts';

const run = (command: string, args: readonly string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });

/** Every node_modules folder Node's resolver would search from `dir` upwards. */
const nodeModulesAbove = (dir: string): string[] => {
  const found: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'node_modules'))) found.push(join(current, 'node_modules'));
    if (current === parse(current).root) return found;
  }
};

describe('the built worker (npm run build, node dist/worker.mjs)', () => {
  let outDir: string;
  let workerFile: string;
  let stack: LocalStack;
  let fixture: RunJobFixture;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'eks-worker-artifact-'));
    workerFile = join(outDir, 'dist', 'worker.mjs');
    const build = await run('npm', ['run', '--silent', 'build', '--', workerFile]);
    assert.equal(build.code, 0, build.output);
    stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
    fixture = await makeRunJobFixture(stack, 'artifact');
  });

  after(async () => {
    fixture?.close();
    await stack?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  test('the build writes one executable ES module with a node shebang', () => {
    const source = readFileSync(workerFile, 'utf8');
    assert.ok(source.startsWith('#!/usr/bin/env node\n'));
    assert.ok((statSync(workerFile).mode & 0o111) !== 0, 'executable, so it can be a bin');
    const packageJson = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.equal(packageJson.bin['eks-activity-worker'], 'dist/worker.mjs');
  });

  test('started as a bin from a folder without node_modules, it serves a runJob.sync task and exits 0 on SIGTERM', async () => {
    assert.deepEqual(nodeModulesAbove(dirname(workerFile)), [], 'nothing to resolve from');
    const worker = spawnWorker(
      workerFile,
      [],
      {
        ...stack.awsEnvironment(),
        EKS_WORKER_ACTIVITY_ARNS: fixture.activityArn,
        EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
        EKS_WORKER_LOG_LEVEL: 'WARN',
      },
      outDir,
    );
    try {
      const execution = await fixture.runJob(scriptedJob('from-the-bundle', 100));
      assert.equal(execution.status, 'SUCCEEDED', `${execution.cause}\n${worker.output()}`);
      assert.equal(JSON.parse(execution.output ?? '{}').metadata.name, 'from-the-bundle');
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, worker.output());
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  test('an empty EKS_WORKER_ACTIVITY_ARNS (a blank ConfigMap key) is a configuration error, exit 2', async () => {
    const worker = spawnWorker(process.execPath, [workerFile], {
      ...stack.awsEnvironment(),
      EKS_WORKER_ACTIVITY_ARNS: '',
    });
    assert.equal(await worker.exited, 2, worker.output());
    assert.match(worker.output(), /EKS_WORKER_ACTIVITY_ARNS is required/);
  });

  test('npm start with an empty EKS_WORKER_ACTIVITY_ARNS fails the same way instead of running the demo', async () => {
    const started = await run(process.execPath, ['--import', 'tsx', 'infra/start.ts'], {
      ...stack.awsEnvironment(),
      EKS_WORKER_ACTIVITY_ARNS: '',
    });
    assert.equal(started.code, 2, started.output);
    assert.match(started.output, /EKS_WORKER_ACTIVITY_ARNS is required/);
  });
});
