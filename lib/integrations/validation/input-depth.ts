/**
 * The nesting limit of task input (contract §4, ours). A JSON value nested thousands deep is never
 * a real manifest or request, and the recursive code that follows validation (`JSON.stringify`,
 * the YAML parser, the SDK's serializer) would overflow the stack on it and fail the task as
 * `EKS.WorkerError`. So input deeper than {@link maxInputDepth} is refused as
 * `EKS.InvalidParameters` before anything is sent. Both checks here are iterative on purpose: a
 * recursive check would overflow on the very input it is meant to refuse. They are independent of
 * the JSON parser the worker uses, so they hold whichever parser produced the value.
 */
import type { InputProblem } from '../../errors.ts';

/**
 * The deepest nesting of objects and arrays a task input may have, counted from the input itself
 * (`{}` has depth 1). Far above any Kubernetes object or EKS request (a Job is about 10 deep),
 * far below where the recursive code after validation overflows (about 5,000).
 */
export const maxInputDepth = 1000;

const isContainer = (value: unknown): value is object =>
  typeof value === 'object' && value !== null;

/** `$.a.b`, or the bracket form for keys that are not identifiers. */
const childPath = (parent: string, key: string | number): string =>
  typeof key === 'number'
    ? `${parent}[${key}]`
    : /^[A-Za-z_$][\w$]*$/.test(key)
      ? `${parent}.${key}`
      : `${parent}[${JSON.stringify(key)}]`;

/**
 * The first place where `value` nests deeper than `maxDepth`, as a problem naming the JSON path of
 * the container that goes too deep; `undefined` when the value is within the limit.
 */
export const findTooDeepValue = (
  value: unknown,
  path: string,
  maxDepth = maxInputDepth,
): InputProblem | undefined => {
  if (!isContainer(value)) return undefined;
  // Depth-first with an explicit stack; each entry knows its depth and path.
  const stack: { value: object; depth: number; path: string }[] = [{ value, depth: 1, path }];
  const seen = new Set<object>();
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (entry.depth > maxDepth) {
      return { path: entry.path, message: `nests deeper than ${maxDepth} levels` };
    }
    if (seen.has(entry.value)) continue;
    seen.add(entry.value);
    const children: [string | number, unknown][] = Array.isArray(entry.value)
      ? entry.value.map((child, index) => [index, child])
      : Object.entries(entry.value);
    for (const [key, child] of children) {
      if (isContainer(child)) {
        stack.push({ value: child, depth: entry.depth + 1, path: childPath(entry.path, key) });
      }
    }
  }
  return undefined;
};

/**
 * The same limit on text that will be parsed (a `Job` or `RequestBody` given as a JSON or
 * YAML-flow string): counts `{`/`[` nesting outside quoted strings, without parsing. Block-style
 * YAML nests by indentation and cannot reach such depths within Step Functions' 256 KiB input.
 */
export const findTooDeepText = (
  text: string,
  path: string,
  maxDepth = maxInputDepth,
): InputProblem | undefined => {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
      continue;
    }
    // Only double quotes: a YAML apostrophe in a plain scalar ("don't") must not hide what
    // follows. Brackets inside single-quoted YAML strings can only over-count, never hide depth.
    if (char === '"') inString = true;
    else if (char === '{' || char === '[') {
      depth += 1;
      if (depth > maxDepth) {
        return { path, message: `nests deeper than ${maxDepth} levels` };
      }
    } else if (char === '}' || char === ']') depth = Math.max(0, depth - 1);
  }
  return undefined;
};
