import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatConfigTable } from '../lib/config.ts';
import { readmePath, withConfigTable } from '../scripts/update-readme.ts';

test('the README lists every configuration variable as lib/config.ts defines it (npm run readme)', () => {
  const readme = readFileSync(readmePath, 'utf8');
  assert.equal(readme, withConfigTable(readme, formatConfigTable()));
});
