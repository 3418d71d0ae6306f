/**
 * Reading members of an SQS request's JSON 1.0 input shape (the query protocol's requests are
 * turned into the same shape), refusing as SQS does: `MissingParameter` for an absent required
 * member, `InvalidParameterValue` for a wrong one.
 */
import { sqsErrors } from './errors.ts';

export type Input = Record<string, unknown>;

export const requireString = (input: Input, name: string): string => {
  const value = input[name];
  if (typeof value !== 'string' || value === '') throw sqsErrors.missingParameter(name);
  return value;
};

export const optionalString = (input: Input, name: string): string | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw sqsErrors.invalidParameterValue(`Value for parameter ${name} is invalid.`);
  return value;
};

export const optionalInteger = (
  input: Input,
  name: string,
  min: number,
  max: number,
  reason = `Must be between ${min} and ${max}.`,
): number | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === 'number' ? value : Number.NaN;
  if (!(Number.isInteger(parsed) && parsed >= min && parsed <= max)) {
    throw sqsErrors.invalidParameterValue(
      `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`,
    );
  }
  return parsed;
};

export const requireInteger = (input: Input, name: string, min: number, max: number): number => {
  const value = optionalInteger(input, name, min, max);
  if (value === undefined) throw sqsErrors.missingParameter(name);
  return value;
};

export const stringMap = (value: unknown, name: string): Record<string, string> => {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw sqsErrors.invalidParameterValue(`Value for parameter ${name} is invalid.`);
  }
  return value as Record<string, string>;
};

export const stringList = (value: unknown, name: string): string[] => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw sqsErrors.invalidParameterValue(`Value for parameter ${name} is invalid.`);
  }
  return value as string[];
};
