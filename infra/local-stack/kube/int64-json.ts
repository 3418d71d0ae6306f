/**
 * JSON as the API server reads and writes it: Go decodes an integer into an int64 without losing a
 * digit, so `spec.activeDeadlineSeconds: 9007199254740993` is stored and returned as sent, while a
 * fraction goes through a float64 exactly as a JavaScript number does. `JSON.parse` would round
 * the integer, and a test of the worker's exactness could then pass or fail for the wrong reason.
 *
 * Integers beyond 2^53 are held as `bigint`: unlike a wrapper object, a bigint survives
 * `structuredClone` (the store's copies), freezing, patches and `===`, and `JSON.stringify` throws
 * on it instead of writing something wrong. Every other number stays a plain number.
 */
import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';
import { parse as parseYaml } from 'yaml';
import { holdsInexactNumber } from '../../../lib/json/exact-json.ts';

const parseNumberAsGoDoes = (digits: string): number | bigint =>
  isInteger(digits) && !isSafeNumber(digits) ? BigInt(digits) : Number(digits);

/**
 * `JSON.parse` keeping integers exact.
 * @throws SyntaxError (the message the caller turns into a 400) when `text` is not JSON.
 */
export const parseInt64Json = (text: string): unknown => {
  const native: unknown = JSON.parse(text);
  if (!holdsInexactNumber(text)) return native;
  try {
    return parse(text, undefined, {
      parseNumber: parseNumberAsGoDoes,
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch (error) {
    // The recursive parser runs out of stack on very deep input; the real server refuses it too
    // ("max depth exceeded"), as a 400.
    if (error instanceof RangeError) throw new SyntaxError('max depth exceeded');
    throw error;
  }
};

/** A bigint that fits a double exactly becomes a number, as {@link parseInt64Json} gives it. */
const toNumberWhenSafe = (_key: unknown, value: unknown): unknown =>
  typeof value === 'bigint' && Number.isSafeInteger(Number(value)) ? Number(value) : value;

/** YAML keeping integers exact. @throws the `yaml` library's error when it does not parse. */
export const parseInt64Yaml = (text: string): unknown =>
  parseYaml(text, toNumberWhenSafe, { intAsBigInt: true });

/** `JSON.stringify` writing bigints as their digits. Fast path: native, which throws on bigint. */
export const stringifyInt64Json = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    return stringify(value) ?? 'null';
  }
};
