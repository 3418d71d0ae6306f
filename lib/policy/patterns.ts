/**
 * The two pattern languages of a policy, kept deliberately small so a reviewer can tell exactly
 * what a pattern allows (no braces, classes or negation, unlike general-purpose glob libraries):
 *
 * - name patterns (activities, clusters, namespaces, pass-role ARNs): `*` is any run of
 *   characters, `?` one character, as in IAM resource ARNs, so the same pattern can be written
 *   into the IAM policy (`infra/serverless/scopes.cjs`);
 * - path patterns (`eks:call` paths): `*` is one path segment or part of one (never a `/`),
 *   `**` as a whole segment is any number of segments, including none.
 */

export interface Pattern {
  /** As written in the policy; quoted in denial causes. */
  readonly text: string;
  readonly regex: RegExp;
}

const escapeRegex = (text: string): string => text.replace(/[\\^$.+()[\]{}|]/g, '\\$&');

/** An IAM-style wildcard: `*` any characters (slashes too), `?` exactly one. */
export const compileNamePattern = (text: string): Pattern => ({
  text,
  regex: new RegExp(`^${escapeRegex(text).replaceAll('*', '.*').replaceAll('?', '.')}$`, 's'),
});

/**
 * Why a path pattern is malformed, or undefined. Paths are absolute and segment-based; `**` must
 * be a whole segment (`/api/**`), because `a**b` has no obvious meaning.
 */
export const checkPathPattern = (text: string): string | undefined => {
  if (!text.startsWith('/')) return 'must start with /';
  if (/[?#]/.test(text)) return 'must not contain ? or # (query parameters are not matched)';
  const segments = text.slice(1).split('/');
  if (segments.some((s) => s.includes('**') && s !== '**')) return '** must be a whole segment';
  return undefined;
};

/** A path pattern (see the module comment). Call {@link checkPathPattern} first. */
export const compilePathPattern = (text: string): Pattern => {
  const segments = text.slice(1).split('/');
  let source = '';
  for (const segment of segments) {
    if (segment === '**') source += '(?:/[^/]*)*';
    else source += `/${escapeRegex(segment).replaceAll('*', '[^/]*')}`;
  }
  return { text, regex: new RegExp(`^${source}$`, 's') };
};

/** The first pattern that matches `value`, if any. */
export const findMatch = (patterns: readonly Pattern[], value: string): Pattern | undefined =>
  patterns.find((pattern) => pattern.regex.test(value));
