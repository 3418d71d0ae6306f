import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDemo } from '../../infra/demo/run-demo.ts';

test('the main job runs all ten seed workflows to SUCCEEDED, pi computed by a real perl process', async () => {
  const lines: string[] = [];

  const succeeded = await runDemo((line) => lines.push(line));

  const output = lines.join('\n');
  assert.equal(succeeded, true, output);
  assert.equal(output.match(/^=== .*: SUCCEEDED in/gm)?.length, 10, output);
  assert.match(output, /"log": "3\.14159265358979323846/);
});
