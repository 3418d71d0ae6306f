/**
 * The guard against a machine that lacks a tool the main job (`npm start`) or the tests rely on.
 * Tests that drive the AWS CLI skip when it is absent, and a perl that passes small cases fails
 * only deep inside the demo: so this test runs the installer's own probes (`--check`, which runs
 * each capability as it is used) and fails, naming the tool, when any is missing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const script = new URL('../../scripts/install-tools.sh', import.meta.url).pathname;

test('every tool the demo and the tests need is installed and works (npm run tools)', {
  timeout: 300_000,
}, async () => {
  const result = await promisify(execFile)('bash', [script, '--check']).catch(
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  assert.equal(
    'code' in result ? result.code : 0,
    0,
    `a tool is missing; run npm run tools:\n${result.stdout}${result.stderr}`,
  );
  assert.match(result.stdout, /^perl: bpi\(2000\) correct/m);
  assert.match(result.stdout, /^kubectl: Client Version: v1\./m);
  assert.match(result.stdout, /^aws: aws-cli\/2\./m);
});

test("the installer probes perl with the demo's pi-2000 Job command, not a weaker one", () => {
  const definition = JSON.parse(
    readFileSync(
      new URL('../../infra/state-machines/01-runjob-sync-with-logs.asl.json', import.meta.url),
      'utf8',
    ),
  );
  const container = definition.States['Run a job on EKS'].Parameters.Job.spec.template.spec
    .containers[0] as { command: string[]; args: string[] };
  const jobArgv = [...container.command, ...container.args];

  const probe = readFileSync(script, 'utf8').match(/^PI_COMMAND=\((.*)\)$/m)?.[1];
  assert.ok(probe, 'PI_COMMAND=(...) not found in install-tools.sh');
  // The bash array as words: bare words and single-quoted strings (all the script uses).
  const probeArgv = [...probe.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
  assert.deepEqual(probeArgv, jobArgv);
});

test('the check fails, naming perl, for a perl that answers small cases but not bpi(2000)', async () => {
  // A stand-in perl, first on PATH, that prints what Debian's core Math::BigInt gets right
  // (bpi(20)) and nothing more: the old bpi(20) probe passed such a perl.
  const dir = mkdtempSync(join(tmpdir(), 'weak-perl-'));
  try {
    writeFileSync(join(dir, 'perl'), '#!/bin/sh\necho 3.1415926535897932385\n');
    chmodSync(join(dir, 'perl'), 0o755);
    const result = await promisify(execFile)('bash', [script, '--check', 'perl'], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    assert.equal('code' in result ? result.code : 0, 1);
    assert.match(result.stderr, /MISSING perl that computes bpi\(2000\) correctly/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
