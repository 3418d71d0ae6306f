/**
 * The one boundary between "what an integration did" and "what Step Functions receives".
 * Every return value and every throw becomes a {@link TaskOutcome} here, and only here are Step
 * Functions' limits enforced (contract §5). A limit broken on the wire is worse than a cut value:
 * SendTaskSuccess/SendTaskFailure would be rejected and the task would hang until its timeout.
 */
import { ErrorName, TaskFailedError } from '../errors.ts';
import { type AbortCause, TaskAbortedError } from '../integrations/types.ts';
import { isLosslessNumber, parseJson, stringifyJson } from '../json/exact-json.ts';
import { SfnLimits } from '../limits.ts';

/** The closed set of things that can happen to a task received from Step Functions. */
export type TaskOutcome =
  /** Send SendTaskSuccess with this output (valid JSON, within the byte limit). */
  | { kind: 'success'; output: string }
  /** Send SendTaskFailure with these fields (within the character limits; cause is JSON). */
  | { kind: 'failure'; error: string; cause: string }
  /** Nobody wants the result (a heartbeat said so): send nothing. */
  | { kind: 'abandoned'; sfnError: string }
  /**
   * The worker stopped before the task finished: the task runner hands it off, or fails it as
   * `EKS.WorkerInterrupted` ({@link makeInterruptedFailure}) when it cannot.
   */
  | { kind: 'interrupted' }
  /** A hand-off target took the task over: send nothing. */
  | { kind: 'handed-off' };

/** How a task ended once the runner has dealt with an interruption: it is never left open. */
export type FinalOutcome = Exclude<TaskOutcome, { kind: 'interrupted' }>;

export type FailureOutcome = Extract<TaskOutcome, { kind: 'failure' }>;

/** How an integration's `run` settled. */
export type TaskSettlement =
  | { status: 'fulfilled'; value: unknown }
  | { status: 'rejected'; reason: unknown };

/** Marker appended where text was cut, so a reader knows the value is incomplete. */
const makeCutMarker = (removedChars: number): string => `…[cut ${removedChars} chars]`;

/** A string cut to at most `keepChars` UTF-16 units without splitting a surrogate pair. */
const cutAt = (text: string, keepChars: number): string => {
  let end = Math.max(0, Math.min(keepChars, text.length));
  const last = text.charCodeAt(end - 1);
  if (end > 0 && end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
};

/**
 * Cuts plain text to `maxChars` (UTF-16 units, which never undercounts characters), keeping the
 * head and marking the cut.
 */
export const fitText = (text: string, maxChars: number): string => {
  if (text.length <= maxChars) return text;
  // The marker's length depends on the number it shows; size it for the worst case.
  const markerReserve = makeCutMarker(text.length).length;
  const head = cutAt(text, Math.max(0, maxChars - markerReserve));
  return `${head}${makeCutMarker(text.length - head.length)}`.slice(0, maxChars);
};

/**
 * The exact serialisation (numbers beyond a double's precision written as their digits, see
 * lib/json/exact-json.ts) that never throws (cycles, nesting) and never returns undefined. Every
 * size measured here is of this text, since it is what Step Functions receives.
 */
const stringifySafely = (value: unknown): string => {
  try {
    return stringifyJson(value) ?? 'null';
  } catch (error) {
    return JSON.stringify({
      unserialisable: true,
      message: error instanceof Error ? error.message : 'value cannot be serialised as JSON',
    });
  }
};

type JsonContainer = Record<string, unknown> | unknown[];

interface StringLeaf {
  parent: JsonContainer;
  key: string | number;
  value: string;
  depth: number;
  encodedChars: number;
}

interface ArrayNode {
  array: unknown[];
  depth: number;
}

const collectNodes = (
  node: unknown,
  depth: number,
  leaves: StringLeaf[],
  arrays: ArrayNode[],
): void => {
  // An exact number is an object holding its digits as a string: a leaf, never cut.
  if (node === null || typeof node !== 'object' || isLosslessNumber(node)) return;
  const container = node as JsonContainer;
  if (Array.isArray(container)) arrays.push({ array: container, depth });
  for (const [key, child] of Object.entries(container)) {
    const slot = Array.isArray(container) ? Number(key) : key;
    if (typeof child === 'string') {
      leaves.push({
        parent: container,
        key: slot,
        value: child,
        depth,
        encodedChars: JSON.stringify(child).length,
      });
    } else {
      collectNodes(child, depth + 1, leaves, arrays);
    }
  }
};

const setSlot = (parent: JsonContainer, key: string | number, value: unknown): void => {
  (parent as Record<string | number, unknown>)[key] = value;
};

/** Strings are not cut below this many characters: a stub that short still says something. */
const minKeptStringChars = 32;

/** Cuts the longest strings (deepest first among equals) until `excess` characters are gone. */
const cutStrings = (root: unknown, excessChars: number): void => {
  const leaves: StringLeaf[] = [];
  collectNodes(root, 0, leaves, []);
  leaves.sort((a, b) => b.encodedChars - a.encodedChars || b.depth - a.depth);
  let excess = excessChars;
  for (const leaf of leaves) {
    if (excess <= 0) return;
    const markerReserve = makeCutMarker(leaf.value.length).length;
    const keep = Math.max(minKeptStringChars, leaf.value.length - excess - markerReserve);
    if (keep >= leaf.value.length) continue;
    const head = cutAt(leaf.value, keep);
    const cut = `${head}${makeCutMarker(leaf.value.length - head.length)}`;
    const saved = leaf.encodedChars - JSON.stringify(cut).length;
    if (saved <= 0) continue;
    setSlot(leaf.parent, leaf.key, cut);
    excess -= saved;
  }
};

/** Drops trailing items of the longest arrays, leaving a marker item, until `excess` is gone. */
const cutArrays = (root: unknown, excessChars: number): void => {
  const arrays: ArrayNode[] = [];
  collectNodes(root, 0, [], arrays);
  arrays.sort((a, b) => b.array.length - a.array.length || b.depth - a.depth);
  let excess = excessChars;
  for (const { array } of arrays) {
    if (excess <= 0) return;
    let removed = 0;
    let saved = 0;
    while (array.length > 0 && saved - 40 < excess) {
      // +1 for the separating comma.
      saved += stringifySafely(array.pop()).length + 1;
      removed += 1;
    }
    if (removed > 0) {
      array.push(`…[cut ${removed} items]`);
      excess -= saved - JSON.stringify(array.at(-1)).length - 1;
    }
  }
};

/**
 * Serialises `value` as JSON of at most `maxChars` characters that still parses: long strings
 * are cut first (longest, then deepest), then long arrays lose trailing items, each cut marked;
 * if that is still not enough (e.g. thousands of keys) the result is
 * `{"truncated":true,"preview":"<head of the JSON text>"}`.
 */
export const fitJson = (value: unknown, maxChars: number): string => {
  const original = stringifySafely(value);
  if (original.length <= maxChars) return original;
  // Parsing our own serialisation gives a private, cycle-free copy (toJSON already applied). The
  // holder makes a bare top-level string a leaf like any other.
  const holder: unknown[] = [parseJson(original)];
  let json = original;
  const steps = [
    () => cutStrings(holder, json.length - maxChars),
    () => cutArrays(holder[0], json.length - maxChars),
    () => cutStrings(holder, json.length - maxChars),
  ];
  for (const step of steps) {
    // A second round catches estimates that were off because of JSON escapes.
    for (let round = 0; round < 3 && json.length > maxChars; round += 1) {
      step();
      json = stringifySafely(holder[0]);
    }
    if (json.length <= maxChars) return json;
  }
  return makePreview(original, maxChars);
};

const makePreview = (json: string, maxChars: number): string => {
  const emptySize = JSON.stringify({ truncated: true, preview: '' }).length;
  let keep = maxChars - emptySize;
  for (;;) {
    const wrapped = JSON.stringify({ truncated: true, preview: cutAt(json, keep) });
    if (wrapped.length <= maxChars || keep <= 0) return wrapped;
    // Escapes (quotes, backslashes) make the encoded preview longer than `keep`; shrink by that.
    keep -= Math.max(1, wrapped.length - maxChars);
  }
};

/**
 * A failure cause within {@link SfnLimits.maxCauseChars}. Values and strings that hold JSON stay
 * valid JSON; other strings are cut as text.
 */
export const fitCause = (cause: unknown, maxChars: number = SfnLimits.maxCauseChars): string => {
  if (typeof cause === 'string') {
    const trimmed = cause.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return fitJson(parseJson(cause), maxChars);
      } catch {
        // Not JSON after all: cut it as text below.
      }
    }
    return fitText(cause, maxChars);
  }
  return fitJson(cause, maxChars);
};

/** A failure outcome with both fields cut to Step Functions' limits. */
export const makeFailureOutcome = (errorName: string, cause: unknown): FailureOutcome => ({
  kind: 'failure',
  // The name is what Catch matches on; an empty one would match nothing useful.
  error: (errorName || ErrorName.WorkerError).slice(0, SfnLimits.maxErrorChars),
  cause: fitCause(cause),
});

/** `EKS.WorkerInterrupted`: what an interrupted task that could not be handed off answers. */
export const makeInterruptedFailure = (): FailureOutcome =>
  makeFailureOutcome(ErrorName.WorkerInterrupted, {
    message:
      'The worker stopped before the task finished and could not hand it over. Retrying the state starts it again.',
  });

/**
 * A success outcome, or `EKS.OutputTooLarge` when the output is above the byte limit.
 * Integrations that can trim (logs) do so before returning; this is the last line of defence.
 * `outputTooLargeAdvice` (the integration's, see `Integration`) ends that failure's message.
 */
export const makeSuccessOutcome = (value: unknown, outputTooLargeAdvice?: string): TaskOutcome => {
  let output: string;
  try {
    // `undefined` (an integration with nothing to say) is sent as JSON null.
    output = stringifyJson(value === undefined ? null : value) ?? 'null';
  } catch (error) {
    return makeFailureOutcome(ErrorName.WorkerError, {
      message: 'The task output cannot be serialised as JSON.',
      errorType: error instanceof Error ? error.name : typeof error,
      errorMessage: error instanceof Error ? error.message : undefined,
    });
  }
  const outputBytes = Buffer.byteLength(output, 'utf8');
  if (outputBytes > SfnLimits.maxOutputBytes) {
    return makeFailureOutcome(ErrorName.OutputTooLarge, {
      message: `The task output is ${outputBytes} bytes of UTF-8; Step Functions accepts at most ${SfnLimits.maxOutputBytes}.${outputTooLargeAdvice === undefined ? '' : ` ${outputTooLargeAdvice}`}`,
      OutputBytes: outputBytes,
      MaxOutputBytes: SfnLimits.maxOutputBytes,
    });
  }
  return { kind: 'success', output };
};

/** The outcome of a thrown value that is not an abort. */
export const makeOutcomeFromError = (error: unknown): TaskOutcome => {
  if (error instanceof TaskFailedError)
    return makeFailureOutcome(error.errorName, error.failureCause);
  if (error instanceof TaskAbortedError) return makeOutcomeFromAbort(error.abortCause);
  // Never the whole error (stack, nested causes) in `error`: that breaks Catch by name.
  return makeFailureOutcome(ErrorName.WorkerError, {
    message: 'The worker failed unexpectedly while running the task.',
    errorType: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
  });
};

const makeOutcomeFromAbort = (abortCause: AbortCause): TaskOutcome => {
  switch (abortCause.kind) {
    case 'abandoned':
      return { kind: 'abandoned', sfnError: abortCause.sfnError };
    case 'handed-off':
      return { kind: 'handed-off' };
    case 'shutdown':
      return { kind: 'interrupted' };
  }
};

/**
 * Turns how `run` settled, and why its signal was aborted (if it was), into the one outcome.
 * An abandoned task, or one another worker carries on, is never answered here, whatever `run`
 * did. A value returned despite a shutdown
 * abort is still a good result and is sent; a throw after a shutdown abort (often a generic
 * AbortError from an HTTP client) means the task was interrupted.
 */
export const toTaskOutcome = (
  settlement: TaskSettlement,
  abortCause?: AbortCause,
  outputTooLargeAdvice?: string,
): TaskOutcome => {
  // Nobody wants the result, or another worker carries the task on and will answer it.
  if (abortCause?.kind === 'abandoned' || abortCause?.kind === 'handed-off') {
    return makeOutcomeFromAbort(abortCause);
  }
  if (settlement.status === 'fulfilled') {
    return makeSuccessOutcome(settlement.value, outputTooLargeAdvice);
  }
  if (abortCause?.kind === 'shutdown' && !(settlement.reason instanceof TaskFailedError)) {
    return { kind: 'interrupted' };
  }
  return makeOutcomeFromError(settlement.reason);
};
