import { localAccountId, localRegion } from '../identities.ts';
import { SfnServiceError } from './protocol.ts';

const arnPrefix = `arn:aws:states:${localRegion}:${localAccountId}:`;

export const toActivityArn = (name: string): string => `${arnPrefix}activity:${name}`;
export const toStateMachineArn = (name: string): string => `${arnPrefix}stateMachine:${name}`;
export const toExecutionArn = (stateMachineName: string, name: string): string =>
  `${arnPrefix}execution:${stateMachineName}:${name}`;

/**
 * AWS's naming rule for activities, state machines and executions: 1-80 characters, none of
 * whitespace, brackets `< > { } [ ]`, wildcards `? *`, the characters `" # % \ ^ | ~ \` $ & , ; : /`,
 * or control characters (U+0000-001F, U+007F-009F).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what AWS forbids
const forbiddenNameCharacters = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

export const assertValidName = (name: unknown): string => {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80) {
    throw new SfnServiceError('InvalidName', `Invalid Name: '${String(name)}'`);
  }
  if (forbiddenNameCharacters.test(name)) {
    throw new SfnServiceError('InvalidName', `Invalid Name: '${name}'`);
  }
  return name;
};

const arnPattern = (kind: string): RegExp =>
  new RegExp(`^arn:aws:states:([a-z0-9-]+):(\\d{12}):${kind}:(.+)$`);

/** Returns the name in an activity ARN, or throws `InvalidArn` as AWS does for a malformed one. */
export const parseActivityArn = (arn: unknown): string => parseArn(arn, 'activity');
export const parseStateMachineArn = (arn: unknown): string => parseArn(arn, 'stateMachine');

/** Returns `[stateMachineName, executionName]`. */
export const parseExecutionArn = (arn: unknown): [string, string] => {
  const rest = parseArn(arn, 'execution');
  const separator = rest.indexOf(':');
  if (separator <= 0) throw invalidArn(arn);
  return [rest.slice(0, separator), rest.slice(separator + 1)];
};

const parseArn = (arn: unknown, kind: string): string => {
  if (typeof arn !== 'string') throw invalidArn(arn);
  const match = arnPattern(kind).exec(arn);
  if (!match) throw invalidArn(arn);
  return match[3] as string;
};

const invalidArn = (arn: unknown): SfnServiceError =>
  new SfnServiceError(
    'InvalidArn',
    `Invalid Arn: 'Resource type not valid in this context: ${String(arn)}'`,
  );

/** What each kind of ARN names, as AWS words a missing one. */
const missingRecord = {
  activity: { type: 'ActivityDoesNotExist', label: 'Activity' },
  stateMachine: { type: 'StateMachineDoesNotExist', label: 'State Machine' },
  execution: { type: 'ExecutionDoesNotExist', label: 'Execution' },
} as const;

/**
 * The record an ARN names: `InvalidArn` for a malformed ARN of that kind, `<Kind>DoesNotExist`
 * for one nothing has.
 */
export const findByArn = <T>(
  records: ReadonlyMap<string, T>,
  arn: unknown,
  kind: keyof typeof missingRecord,
): T => {
  if (kind === 'execution') parseExecutionArn(arn);
  else parseArn(arn, kind);
  const record = records.get(arn as string);
  if (record === undefined) {
    const { type, label } = missingRecord[kind];
    throw new SfnServiceError(type, `${label} Does Not Exist: '${String(arn)}'`);
  }
  return record;
};
