/**
 * Runs every `*.test.ts` under test/ with node's own test runner, through tsx.
 *
 * Why a script: Node 20's `--test` does not expand globs, and `npm test -- <files>` should still
 * let a developer run a subset (`npm test -- test/lib/kube`).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(path: string): string[] {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => findTests(join(path, entry)));
}

// Arguments starting with `--` go to node's test runner (`--test-name-pattern=...`); the rest
// are files or folders to search for tests.
const args = process.argv.slice(2);
const runnerFlags = args.filter((arg) => arg.startsWith('--'));
const roots = args.filter((arg) => !arg.startsWith('--'));
const files = (roots.length > 0 ? roots : ['test']).flatMap(findTests);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    // A test file whose servers or timers outlive its tests must not hang the run: the runner
    // ends it once its tests are done. A test that hangs fails after two minutes.
    '--test-force-exit',
    '--test-timeout=120000',
    ...runnerFlags,
    ...files,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
