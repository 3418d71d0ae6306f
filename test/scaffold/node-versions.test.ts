/**
 * The Node versions the project states are the ones it is tested on: Node 22 (production's
 * runtime) through scripts/node22.sh for the whole suite in CI, and package.json's engines floor.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';

const projectDir = new URL('../..', import.meta.url).pathname;
const read = (file: string) => readFileSync(`${projectDir}${file}`, 'utf8');

test('scripts/node22.sh runs a command on the pinned Node 22, whatever node the machine has', {
  timeout: 300_000, // the first use installs it from the npm registry
}, async () => {
  const pinned = JSON.parse(read('scripts/node22/package.json')).dependencies.node as string;
  assert.match(pinned, /^22\.\d+\.\d+$/, 'an exact 22.x version');
  const { stdout } = await promisify(execFile)(
    'bash',
    ['scripts/node22.sh', 'node', '-p', 'process.version + " " + process.execPath'],
    { cwd: projectDir },
  );
  assert.equal(stdout.trim(), `v${pinned} ${projectDir}scripts/node22/node_modules/node/bin/node`);
});

test('CI runs the whole suite on Node 22 and states the same floor as package.json', () => {
  const ci = read('.ci/run');
  assert.match(ci, /^"\$\{node22\[@\]\}" npm test$/m, 'the whole suite through scripts/node22.sh');
  assert.match(ci, /^node22=\(bash scripts\/node22\.sh\)$/m);
  const engines = JSON.parse(read('package.json')).engines.node as string;
  assert.equal(engines, '>=20.19');
  assert.ok(read('README.md').includes(`engines: ${engines}`), 'README states the engines floor');
});
