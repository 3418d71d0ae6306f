/**
 * What an `eks:call` path addresses, read the way the Kubernetes API server reads it (its
 * RequestInfo): the path is percent-decoded first (Go's `URL.Path`), then split on `/`, and
 * `.../namespaces/<ns>/...` after `/api/<version>` or `/apis/<group>/<version>` (optionally behind
 * the legacy `watch/` prefix) names the namespace. The namespace object itself
 * (`/api/v1/namespaces/<ns>`) counts as in `<ns>`, as Kubernetes authorizes it.
 *
 * Anything that could make the worker and the API server disagree on the target is refused rather
 * than interpreted: an encoded `/`, `.` or `..` segments, empty segments, malformed escapes.
 */

export type KubePath =
  | {
      readonly ok: true;
      /** The decoded path policy patterns are matched against (no trailing `/`). */
      readonly decodedPath: string;
      /** The namespace the request is in; undefined for a cluster-scoped or non-resource path. */
      readonly namespace: string | undefined;
    }
  | { readonly ok: false; readonly problem: string };

export const readKubePath = (path: string): KubePath => {
  if (/%2f/i.test(path)) return { ok: false, problem: 'an encoded / (%2F) is not allowed' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { ok: false, problem: 'the path has a malformed percent-escape' };
  }
  // The API server trims one leading and trailing slash before splitting; so do we.
  const trimmed = decoded.replace(/^\//, '').replace(/\/$/, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return { ok: false, problem: 'empty, . and .. path segments are not allowed' };
  }
  return { ok: true, decodedPath: `/${segments.join('/')}`, namespace: namespaceOf(segments) };
};

const namespaceOf = (segments: readonly string[]): string | undefined => {
  let rest: readonly string[];
  if (segments[0] === 'api') rest = segments.slice(2);
  else if (segments[0] === 'apis') rest = segments.slice(3);
  else return undefined;
  if (rest[0] === 'watch') rest = rest.slice(1);
  return rest[0] === 'namespaces' && rest[1] !== undefined ? rest[1] : undefined;
};
