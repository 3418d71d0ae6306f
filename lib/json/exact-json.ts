/**
 * JSON that never changes a number (contract §7). `JSON.parse` turns every number into a double,
 * so an int64 such as `9007199254740993` silently becomes `9007199254740992` and
 * `12345678901234567890123` becomes `1.2345678901234568e+22`. Kubernetes int64 fields, log lines
 * and task inputs may hold such numbers, and Step Functions passes them through, so the worker
 * must too.
 *
 * Numbers a double holds exactly stay plain `number`s (validation, arithmetic and every
 * `typeof x === 'number'` check keep working); only the others become a {@link LosslessNumber}
 * from `lossless-json`, which keeps the digits as text and is written back verbatim by
 * {@link stringifyJson}. A plain `JSON.stringify` would write such a value as an object, so every
 * serialisation of a parsed tree goes through {@link stringifyJson}.
 *
 * Speed: `lossless-json` is a JavaScript parser, about 3 times slower than `JSON.parse` and
 * 6 times slower to stringify (256 KiB: 10 ms against 3 ms, 7.5 ms against 1.3 ms). Both entry
 * points therefore take the native path whenever it is provably exact, and pay for the library
 * only when a number that a double cannot hold is present.
 */
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

export { isLosslessNumber, LosslessNumber };

/** The text has nesting deeper than the parser's stack allows. */
export class JsonNestingTooDeepError extends SyntaxError {
  constructor() {
    super('the JSON text is nested too deeply to be read');
    this.name = 'JsonNestingTooDeepError';
  }
}

/**
 * A number token can lose precision in a double only when it has more than 15 significant digits
 * (every decimal of at most 15 digits survives the round trip) or an exponent of 3 or more digits
 * (overflow to Infinity, underflow to 0). This finds 16 digits in a row, possibly split by one
 * dot each, or such an exponent, anywhere in the text, strings included.
 */
const longNumberAnywhere = /\d(?:\.?\d){15}|[eE][+-]?\d{3}/;
/** The same, but a whole string literal matches first, so digits inside strings are skipped. */
const stringOrLongNumber = /"(?:[^"\\]|\\.)*"|\d(?:\.?\d){15}|[eE][+-]?\d{3}/g;
const doubleQuote = 0x22;

/**
 * Whether valid JSON `text` may hold a number a double cannot hold exactly: a false positive
 * only costs the slower exact parse, a miss is impossible. Digit runs inside strings do not count:
 * Kubernetes objects are full of them (uids, image digests, container ids), and parsing every
 * such object with the exact parser cost CPU and, worse, memory: it builds each string a
 * character at a time, and V8 keeps those as chains of 32-byte pieces (70 KiB per waiting
 * runJob.sync task in all). Linear only for valid JSON (balanced quotes): ask after JSON.parse
 * accepted the text.
 */
export const holdsInexactNumber = (text: string): boolean => {
  if (!longNumberAnywhere.test(text)) return false;
  for (const match of text.matchAll(stringOrLongNumber)) {
    if (match[0].charCodeAt(0) !== doubleQuote) return true;
  }
  return false;
};

/** A double where that is exact, a LosslessNumber holding the digits where it is not. */
const parseNumberExactly = (digits: string): number | LosslessNumber =>
  isSafeNumber(digits) ? Number(digits) : new LosslessNumber(digits);

/**
 * A bigint (as YAML parsed with `intAsBigInt` gives) as the same value {@link parseJson} would
 * give: a number when a double holds it exactly, else a LosslessNumber. Other values unchanged.
 */
export const reviveBigInt = (_key: unknown, value: unknown): unknown => {
  if (typeof value !== 'bigint') return value;
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : new LosslessNumber(value.toString());
};

/**
 * `JSON.parse` that keeps every number exact.
 * @throws SyntaxError when `text` is not JSON; {@link JsonNestingTooDeepError} when the exact
 *   parser (used only for texts holding such numbers) runs out of stack, at roughly 8,000 levels.
 *   Callers that need a documented depth limit check the depth of the result themselves.
 */
export const parseJson = (text: string): unknown => {
  const native: unknown = JSON.parse(text);
  if (!holdsInexactNumber(text)) return native;
  try {
    return parse(text, undefined, {
      parseNumber: parseNumberExactly,
      // JSON.parse keeps the last of duplicate keys; lossless-json would throw.
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch (error) {
    if (error instanceof RangeError) throw new JsonNestingTooDeepError();
    throw error;
  }
};

/**
 * What `JSON.stringify` writes for a LosslessNumber (its own enumerable fields); the quotes can
 * only appear unescaped like this as an object key, never inside a string value.
 */
const losslessNumberSignature = '"isLosslessNumber":true';

/**
 * `JSON.stringify(value)` that writes each LosslessNumber (and bigint) as its digits.
 * Returns undefined where `JSON.stringify` does (undefined, a function, a symbol).
 * @throws TypeError for a cycle, as `JSON.stringify` does; {@link JsonNestingTooDeepError} when a
 *   tree holding exact numbers is nested too deeply to write.
 */
export const stringifyJson = (value: unknown): string | undefined => {
  let native: string | undefined;
  try {
    native = JSON.stringify(value);
  } catch (error) {
    // Only a bigint makes JSON.stringify throw where lossless-json does not.
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
  }
  // Common case: no exact number anywhere, the native result is the answer. (A user object with a
  // real `isLosslessNumber: true` key also matches; the exact writer then gives the same text.)
  if (native !== undefined && !native.includes(losslessNumberSignature)) return native;
  try {
    return stringify(value) ?? undefined;
  } catch (error) {
    if (error instanceof RangeError) throw new JsonNestingTooDeepError();
    throw error;
  }
};

/** UTF-8 bytes of a value's exact serialisation (`null` for a value JSON cannot hold). */
export const measureJsonBytes = (value: unknown): number =>
  Buffer.byteLength(stringifyJson(value) ?? 'null', 'utf8');
