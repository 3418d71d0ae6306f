/**
 * The accepted grammar of an `eks:call` `Path` (contract §2.1, ours). The path is sent to the API
 * server as given, so any form that a server, a proxy or a URL library may read differently from
 * how it looks (`//host/...` read as an authority, `/./` and `/../` normalised away, `%2F` decoded
 * into a separator, a backslash turned into a slash) is refused rather than sent:
 *
 * ```
 * path     = "/" / 1*( "/" segment )          ; "/" alone, or non-empty segments
 * segment  = 1*pchar, but not "." or ".."
 * pchar    = ALPHA / DIGIT / "-" / "." / "_" / "~" / "!" / "$" / "&" / "'" / "(" / ")"
 *          / "*" / "+" / "," / ";" / "=" / ":" / "@" / pct-encoded
 * pct-encoded = "%" HEXDIG HEXDIG, except encodings of "/", "\", ".", "%" and control characters
 * ```
 * and at most {@link maxPathLength} characters. No empty segment (`//`, a trailing `/`), no
 * `?` or `#` (query parameters go in `QueryParameters`), no space, backslash or control character.
 */

/** Longer paths are refused: no Kubernetes API path comes near, and servers answer 414/431. */
export const maxPathLength = 4096;

const pchar = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$/;
/** Percent-encodings that change how a path splits or normalises, or hide control characters. */
const ambiguousEncoding = /%(?:2[eEfF]|5[cC]|25|[01][0-9A-Fa-f]|7[fF])/;

/** Why `path` is refused, or `undefined` when it follows the grammar. */
export const findPathProblem = (path: string): string | undefined => {
  if (!path.startsWith('/')) return 'must start with /';
  if (path.length > maxPathLength) return `must be at most ${maxPathLength} characters`;
  if (/[?#]/.test(path)) return 'must not contain ? or #: put query parameters in QueryParameters';
  if (path.includes('\\')) return 'must not contain a backslash';
  if (/[^\x21-\x7e]/.test(path)) {
    return 'must be printable ASCII without spaces or control characters (percent-encode others)';
  }
  if (path === '/') return undefined;
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return 'must not have an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return 'must not have a "." or ".." segment';
    if (!pchar.test(segment)) {
      return 'has a character outside the path grammar (a stray % or a reserved character)';
    }
    if (ambiguousEncoding.test(segment)) {
      return 'must not percent-encode "/", "\\", ".", "%" or a control character';
    }
  }
  return undefined;
};
