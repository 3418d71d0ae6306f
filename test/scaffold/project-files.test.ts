/**
 * The files a user looks for before using the project: the license that package.json names, in
 * full, and a changelog in Keep a Changelog form whose latest release is package.json's version.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
const packageJson = JSON.parse(read('package.json')) as { license: string; version: string };

test('LICENSE is the full Apache License 2.0 text that package.json names', () => {
  assert.equal(packageJson.license, 'Apache-2.0');
  const license = read('LICENSE');
  assert.match(license, /^\s*Apache License\s+Version 2\.0, January 2004/);
  assert.match(license, /END OF TERMS AND CONDITIONS/);
  // The text as the Apache Software Foundation publishes it (LICENSE-2.0.txt), byte for byte.
  assert.equal(
    createHash('sha256').update(license).digest('hex'),
    'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30',
  );
});

test('CHANGELOG.md keeps an Unreleased section and the current version as its latest release', () => {
  const changelog = read('CHANGELOG.md');
  assert.match(changelog, /^# Changelog\n/);
  assert.match(changelog, /keepachangelog\.com/);
  const releases = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d\d-\d\d))?$/gm)].map(
    (m) => m[1],
  );
  assert.equal(releases[0], 'Unreleased');
  assert.equal(releases[1], packageJson.version, 'the latest release is package.json version');
  for (const section of changelog.matchAll(/^### (.*)$/gm)) {
    assert.ok(
      ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'].includes(section[1] ?? ''),
      `unknown section ${section[1]}`,
    );
  }
});
