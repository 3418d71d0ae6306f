/**
 * `LogOptions.LogParameters` of `eks:runJob.sync` (contract §2.2): the pod log API's query
 * parameters, checked once here as the Kubernetes API defines them (`PodLogOptions`), so that a
 * value the API server would refuse, or read differently, never reaches it. Every later reader
 * (collect-logs, job-failure) may rely on what this module lets through.
 *
 * - integers are int64 in decimal (`strconv.ParseInt`), and the API validates `tailLines >= 0`,
 *   `limitBytes >= 1`, `sinceSeconds >= 1`;
 * - booleans are what the API reads as one (`true`/`false`, `1`/`0`, `t`/`f`, any case);
 * - `sinceTime` is an RFC 3339 timestamp; at most one of `sinceSeconds` and `sinceTime`;
 * - `stream` is `All`, `Stdout` or `Stderr`, and only `All` goes with `tailLines`;
 * - each parameter takes exactly one value (the API would silently use the first);
 * - `container` and `follow` are refused: the integration reads every container of every pod
 *   itself, after the Job has finished. Unknown names are refused too: the API would ignore a
 *   misspelt `tailine` silently.
 */
import type { InputProblem } from '../../errors.ts';

type Kind = 'int64' | 'boolean' | 'time' | 'stream';

const known: Readonly<Record<string, { kind: Kind; min?: bigint }>> = {
  tailLines: { kind: 'int64', min: 0n },
  limitBytes: { kind: 'int64', min: 1n },
  sinceSeconds: { kind: 'int64', min: 1n },
  sinceTime: { kind: 'time' },
  timestamps: { kind: 'boolean' },
  previous: { kind: 'boolean' },
  insecureSkipTLSVerifyBackend: { kind: 'boolean' },
  stream: { kind: 'stream' },
};

const refused: Readonly<Record<string, string>> = {
  container: 'logs are read for every container of every pod; do not name one',
  follow: 'not supported: logs are read after the Job has finished',
};

const maxInt64 = 9_223_372_036_854_775_807n;
const booleanWords = /^(?:1|0|t|f|true|false)$/i;
const streams = ['All', 'Stdout', 'Stderr'];
// RFC 3339 as Go's time.RFC3339 reads it: date, T, time, optional fraction, Z or an offset.
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

const checkValue = (kind: Kind, value: string, min: bigint | undefined): string | undefined => {
  switch (kind) {
    case 'int64': {
      if (!/^[+-]?\d{1,19}$/.test(value)) return 'must be a decimal integer (int64)';
      const number = BigInt(value);
      if (number > maxInt64) return 'must fit in a 64-bit integer';
      if (min !== undefined && number < min) return `must be at least ${min}`;
      return undefined;
    }
    case 'boolean':
      return booleanWords.test(value) ? undefined : 'must be "true" or "false"';
    case 'time':
      return rfc3339.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : 'must be an RFC 3339 timestamp, e.g. 2026-01-02T03:04:05Z';
    case 'stream':
      return streams.includes(value) ? undefined : `must be one of ${streams.join(', ')}`;
  }
};

/**
 * Checks `LogParameters` (already known to be an object); returns the parameters to send, with
 * every problem pushed to `problems` under `path`.
 */
export const checkLogParameters = (
  parameters: Record<string, unknown>,
  path: string,
  problems: InputProblem[],
): Record<string, string[]> => {
  const checked: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(parameters)) {
    const keyPath = /^[A-Za-z_$][\w$]*$/.test(key)
      ? `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`;
    const refusal = Object.hasOwn(refused, key) ? refused[key] : undefined;
    const rule = Object.hasOwn(known, key) ? known[key] : undefined;
    if (refusal !== undefined) {
      problems.push({ path: keyPath, message: refusal });
    } else if (rule === undefined) {
      problems.push({
        path: keyPath,
        message: `is not a pod log parameter; known: ${Object.keys(known).join(', ')}`,
      });
    } else if (!Array.isArray(values) || values.length !== 1 || typeof values[0] !== 'string') {
      problems.push({ path: keyPath, message: 'must be a list of exactly one string' });
    } else {
      const problem = checkValue(rule.kind, values[0], rule.min);
      // Integers go on in canonical form ("+5" -> "5"), so later readers see plain digits.
      if (problem === undefined) {
        checked[key] = [rule.kind === 'int64' ? BigInt(values[0]).toString() : values[0]];
      } else problems.push({ path: `${keyPath}[0]`, message: problem });
    }
  }
  if ('sinceSeconds' in parameters && 'sinceTime' in parameters) {
    problems.push({ path, message: 'may have sinceSeconds or sinceTime, not both' });
  }
  const stream = checked.stream?.[0];
  if (stream !== undefined && stream !== 'All' && 'tailLines' in parameters) {
    problems.push({ path: `${path}.stream`, message: 'only "All" may be combined with tailLines' });
  }
  return checked;
};
