/**
 * The small parsers and checks the variable table (`variables.ts`) is written with. Each parser
 * turns a raw environment string into a value or a problem; each check judges a value whatever its
 * source (an explicit option is checked as strictly as a variable).
 */

/** A failed parse names one problem, or several (a policy document lists each of its problems). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string | readonly string[] };

export interface VariableSpec<T> {
  /** The environment variable. */
  readonly env: string;
  /** Default when neither option nor variable is set; absent means required. */
  readonly defaultValue?: () => T;
  /** The default as the README shows it. */
  readonly defaultText: string;
  readonly meaning: string;
  parse(raw: string): Parsed<T>;
  /** Checks a value whatever its source; returns a problem or undefined. */
  check(value: T): string | undefined;
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });

export const parseInteger = (raw: string): Parsed<number> =>
  /^\s*\d+\s*$/.test(raw)
    ? ok(Number(raw))
    : { ok: false, problem: `must be a whole number, got '${raw}'` };

/** Any text, trimmed. */
export const parseText = (raw: string): Parsed<string> => ok(raw.trim());

export const parseList = (raw: string): Parsed<string[]> =>
  ok(
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

export const parseBoolean = (raw: string): Parsed<boolean> => {
  const normalised = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(normalised)) return ok(false);
  return { ok: false, problem: `must be true or false, got '${raw}'` };
};

export const checkRange =
  (min: number, max: number) =>
  (value: number): string | undefined =>
    Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}, got ${value}`;

/** Whether `url` parses as a URL with one of `protocols` (`'https:'`, ...). */
export const hasProtocol = (url: string, ...protocols: readonly string[]): boolean => {
  try {
    return protocols.includes(new URL(url).protocol);
  } catch {
    return false;
  }
};

/** A check of an optional value: unset passes, a value set must pass `check`. */
export const whenSet =
  <T>(check: (value: T) => string | undefined) =>
  (value: T | undefined): string | undefined =>
    value === undefined ? undefined : check(value);
