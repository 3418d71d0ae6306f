/**
 * The documents stand on their own: every relative link in README.md, CHANGELOG.md and docs/
 * points at a file of this repository (and at a heading that exists, for `#anchors`), and so does
 * every path written as code that starts with `./` or `../`. A link out of the repository (to a
 * folder only some machines have) fails like a missing file.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const repoRoot = resolve(new URL('..', import.meta.url).pathname);

const markdownFiles = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(repoRoot, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => join('docs', file)),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slugOf = (heading: string): string =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replaceAll('`', '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

const withoutFencedCode = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, '');

const anchorsOf = (file: string): Set<string> => {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of withoutFencedCode(readFileSync(file, 'utf8')).matchAll(
    /^#{1,6}\s+(.*)$/gm,
  )) {
    const slug = slugOf(heading ?? '');
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
};

/** Link targets (`[text](target)`) and `./` or `../` paths written as code, outside code blocks. */
const referencesIn = (text: string): string[] => {
  const prose = withoutFencedCode(text);
  const codePaths = [...prose.matchAll(/`(\.\.?\/[^`\s]*)`/g)].map((m) => m[1] ?? '');
  const links = [...prose.replace(/`[^`\n]*`/g, 'code').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target)); // http:, https:, mailto:
  return [...links, ...codePaths];
};

/** Why a reference from `file` does not resolve, or undefined when it does. */
const problemWith = (file: string, reference: string): string | undefined => {
  const [pathPart = '', anchor] = reference.split('#');
  const target = pathPart === '' ? file : resolve(dirname(file), decodeURI(pathPart));
  const inRepo = relative(repoRoot, target);
  if (inRepo.startsWith('..')) return 'points outside the repository';
  if (!existsSync(target)) return 'no such file or folder';
  if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)) {
    return `no heading #${anchor}`;
  }
  return undefined;
};

test('every relative link and ./ or ../ path in README, CHANGELOG and docs/ resolves inside the repository', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const name of markdownFiles) {
    const file = join(repoRoot, name);
    for (const reference of referencesIn(readFileSync(file, 'utf8'))) {
      checked += 1;
      const problem = problemWith(file, reference);
      if (problem) broken.push(`${name}: ${reference}: ${problem}`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 5, `only ${checked} references found: is the extraction broken?`);
});

test('the checker itself finds what it is meant to find', () => {
  const readme = join(repoRoot, 'README.md');
  assert.deepEqual(
    referencesIn('see [x](a.md#b) and `../c/` but not `a/b` nor [y](https://e.org)'),
    ['a.md#b', '../c/'],
  );
  assert.deepEqual(referencesIn('```\n[x](inside-a-code-block.md)\n```\n'), []);
  assert.equal(problemWith(readme, 'docs/contract.md'), undefined);
  assert.equal(problemWith(readme, '#configuration'), undefined);
  assert.equal(problemWith(readme, '#no-such-heading'), 'no heading #no-such-heading');
  assert.equal(
    problemWith(join(repoRoot, 'docs/contract.md'), '../fixtures/'),
    'no such file or folder',
  );
  assert.equal(problemWith(readme, '../shared/spec/contract.md'), 'points outside the repository');
  assert.equal(slugOf('Moving a state machine over'), 'moving-a-state-machine-over');
  assert.equal(
    slugOf('What the `Lambda` functions do, at the end'),
    'what-the-lambda-functions-do-at-the-end',
  );
});
