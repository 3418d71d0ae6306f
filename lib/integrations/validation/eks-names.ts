/**
 * Names of EKS resources as EKS documents them (API reference, `CreateCluster` `name`): 1 to 100
 * characters, starting with a letter or digit, then letters, digits, `-` and `_`. The same rule
 * applies here to node group and Fargate profile names (ours: EKS's console and error messages
 * ask the same of them). Checked before anything is sent: a name goes into the URL path of every
 * EKS call, and a 100,000-character one would otherwise come back as an HTTP 431 (`EKS.Unknown`).
 */
import type { InputProblem } from '../../errors.ts';

export const maxEksNameLength = 100;
const eksNamePattern = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;

/** Why `name` is not an EKS name, or `undefined` when it is one. */
export const findEksNameProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'must not be empty';
  if (name.length > maxEksNameLength) {
    return `must be at most ${maxEksNameLength} characters (got ${name.length})`;
  }
  if (!eksNamePattern.test(name)) {
    return 'must start with a letter or digit and contain only letters, digits, "-" and "_"';
  }
  return undefined;
};

/** Pushes a problem for `value` at `path` unless it is a valid EKS name (a string is assumed). */
export const checkEksName = (value: string, path: string, problems: InputProblem[]): void => {
  const problem = findEksNameProblem(value);
  if (problem !== undefined) problems.push({ path, message: problem });
};
