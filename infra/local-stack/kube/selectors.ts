/**
 * Label and field selectors as the API server parses them (`?labelSelector=`, `?fieldSelector=`).
 * A malformed selector is a 400 BadRequest, as on a real cluster.
 */

import { stringifyInt64Json } from './int64-json.ts';
import type { KubeObject } from './objects.ts';
import { makeBadRequestError } from './status.ts';

export type ObjectPredicate = (o: KubeObject) => boolean;

/** Splits on commas that are not inside `( )`. */
const splitTerms = (selector: string): string[] => {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
};

const labelKeyPattern =
  /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const labelValuePattern = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

const checkKey = (key: string, term: string): string => {
  if (!labelKeyPattern.test(key)) {
    throw makeBadRequestError(
      `unable to parse requirement: invalid label key "${key}" in "${term}"`,
    );
  }
  return key;
};
const checkValue = (value: string, term: string): string => {
  if (!labelValuePattern.test(value)) {
    throw makeBadRequestError(
      `unable to parse requirement: invalid label value "${value}" in "${term}"`,
    );
  }
  return value;
};

/**
 * Parses a label selector: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists),
 * `!k` (does not exist), comma-joined (AND).
 */
export function parseLabelSelector(selector: string): ObjectPredicate {
  const tests: ((labels: Record<string, string>) => boolean)[] = [];
  for (const term of splitTerms(selector)) {
    const setMatch = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (setMatch) {
      const key = checkKey(setMatch[1] ?? '', term);
      const values = new Set(
        (setMatch[3] ?? '')
          .split(',')
          .map((v) => v.trim())
          .map((v) => checkValue(v, term)),
      );
      if (setMatch[2] === 'in') tests.push((l) => key in l && values.has(l[key] ?? ''));
      else tests.push((l) => !(key in l) || !values.has(l[key] ?? ''));
      continue;
    }
    const eqMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (eqMatch) {
      const key = checkKey(eqMatch[1] ?? '', term);
      const value = checkValue(eqMatch[3] ?? '', term);
      if (eqMatch[2] === '!=') tests.push((l) => l[key] !== value);
      else tests.push((l) => key in l && l[key] === value);
      continue;
    }
    if (term.startsWith('!')) {
      const key = checkKey(term.slice(1).trim(), term);
      tests.push((l) => !(key in l));
      continue;
    }
    const key = checkKey(term, term);
    tests.push((l) => key in l);
  }
  return (o) => {
    const labels = o.metadata.labels ?? {};
    return tests.every((t) => t(labels));
  };
}

/** Reads a dotted path (`status.phase`, `spec.nodeName`) as the string a field selector compares. */
const readField = (o: KubeObject, path: string): string => {
  let value: unknown = o;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : stringifyInt64Json(value);
};

/**
 * Parses a field selector: `path=value`, `path==value`, `path!=value`, comma-joined (AND).
 * `metadata.name`, `metadata.namespace`, `status.phase` and any dotted path are supported (a real
 * server supports a fixed set per resource; being more permissive never breaks a client).
 */
export function parseFieldSelector(selector: string): ObjectPredicate {
  const tests: ObjectPredicate[] = [];
  for (const term of splitTerms(selector)) {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) {
      throw makeBadRequestError(`invalid selector: '${selector}'; can't understand '${term}'`);
    }
    const path = (m[1] ?? '').trim();
    const value = (m[3] ?? '').trim();
    if (m[2] === '!=') tests.push((o) => readField(o, path) !== value);
    else tests.push((o) => readField(o, path) === value);
  }
  return (o) => tests.every((t) => t(o));
}

/** The one predicate for a request's `labelSelector` and `fieldSelector` (either may be absent). */
export function makeSelectorPredicate(
  labelSelector: string | null | undefined,
  fieldSelector: string | null | undefined,
): ObjectPredicate {
  const byLabel = labelSelector ? parseLabelSelector(labelSelector) : undefined;
  const byField = fieldSelector ? parseFieldSelector(fieldSelector) : undefined;
  return (o) => (byLabel ? byLabel(o) : true) && (byField ? byField(o) : true);
}
