/**
 * Converts between Step Functions' PascalCase task JSON and the EKS SDK's camelCase shapes.
 *
 * How this stays in step with the EKS API: the conversion walks the SDK's own runtime schemas
 * (`CreateClusterRequest$`, `Cluster$`, ... exported by `@aws-sdk/client-eks` and generated from the
 * same Smithy model as its TypeScript types and its serializer) through `@smithy/core`'s
 * `NormalizedSchema`. So every member, at every depth, that the installed SDK can send is accepted,
 * with its type; anything else is an unknown member. Upgrading the SDK brings new members with no
 * edit here. The compile-time half (typed input shapes, required members) is in `operations.ts`.
 *
 * Only member names change case. Map values (`Tags`, `Labels`, selector `Labels`) are user data:
 * their keys pass through untouched, because the schema says they are maps, not structures.
 */
import { NormalizedSchema } from '@smithy/core/schema';
import type { InputProblem } from '../../errors.ts';

const minInt32 = -(2 ** 31);
const maxInt32 = 2 ** 31 - 1;

/** A schema reference as the SDK exports it (`CreateClusterRequest$`). */
export type SchemaRef = Parameters<typeof NormalizedSchema.of>[0];

/**
 * Step Functions' name for an EKS member: the model name with its first letter upper-cased
 * (`resourcesVpcConfig` -> `ResourcesVpcConfig`, `oidc` -> `Oidc`).
 */
export const toPascalCase = (memberName: string): string =>
  memberName.charAt(0).toUpperCase() + memberName.slice(1);

/**
 * The PascalCase view of an SDK shape: recurses through structures and arrays, stops at
 * string-keyed maps (user data such as `Tags`), and shows timestamps as ISO-8601 strings.
 */
export type PascalCaseKeys<T> = T extends Date
  ? string
  : T extends readonly (infer Element)[]
    ? PascalCaseKeys<Element>[]
    : T extends object
      ? string extends keyof T
        ? { [key: string]: PascalCaseKeys<T[string & keyof T]> }
        : { [K in keyof T as K extends string ? Capitalize<K> : never]: PascalCaseKeys<T[K]> }
      : T;

/**
 * Turns PascalCase task input into an SDK request for the structure `schema`, collecting every
 * problem (unknown member, wrong type) with its JSON path instead of stopping at the first.
 */
export function toSdkShape(
  schema: SchemaRef,
  input: unknown,
): { value: Record<string, unknown>; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const value = convertInput(NormalizedSchema.of(schema), input, '$', problems);
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return { value: isObject ? (value as Record<string, unknown>) : {}, problems };
}

function convertInput(
  ns: NormalizedSchema,
  input: unknown,
  path: string,
  problems: InputProblem[],
): unknown {
  if (ns.isStructSchema()) {
    if (!isPlainObject(input)) {
      problems.push({ path, message: `must be an object, got ${describeType(input)}` });
      return undefined;
    }
    const members = new Map<string, [string, NormalizedSchema]>();
    for (const [memberName, memberSchema] of ns.structIterator()) {
      members.set(toPascalCase(memberName), [memberName, memberSchema]);
    }
    const output: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      const memberPath = `${path}.${key}`;
      const member = members.get(key);
      if (!member) {
        const hint = members.has(toPascalCase(key)) ? ` (did you mean ${toPascalCase(key)}?)` : '';
        problems.push({ path: memberPath, message: `is not a known member${hint}` });
        continue;
      }
      const [memberName, memberSchema] = member;
      output[memberName] = convertInput(memberSchema, value, memberPath, problems);
    }
    return output;
  }
  if (ns.isListSchema()) {
    if (!Array.isArray(input)) {
      problems.push({ path, message: `must be an array, got ${describeType(input)}` });
      return undefined;
    }
    const elementSchema = ns.getValueSchema();
    return input.map((element, index) =>
      convertInput(elementSchema, element, `${path}[${index}]`, problems),
    );
  }
  if (ns.isMapSchema()) {
    if (!isPlainObject(input)) {
      problems.push({ path, message: `must be an object, got ${describeType(input)}` });
      return undefined;
    }
    const valueSchema = ns.getValueSchema();
    const output: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      output[key] = convertInput(valueSchema, value, `${path}[${JSON.stringify(key)}]`, problems);
    }
    return output;
  }
  if (ns.isStringSchema()) return expectType(input, 'string', path, problems);
  if (ns.isBooleanSchema()) return expectType(input, 'boolean', path, problems);
  if (ns.isNumericSchema()) {
    if (typeof input !== 'number' || !Number.isFinite(input)) {
      problems.push({ path, message: `must be a number, got ${describeType(input)}` });
      return undefined;
    }
    // The SDK's schemas say only "numeric"; in the EKS model every numeric request member is a
    // Smithy `Integer` (32-bit), which a test pins. EKS would refuse 1.5 or 1e308 with a 400.
    if (!Number.isInteger(input) || input < minInt32 || input > maxInt32) {
      problems.push({
        path,
        message: `must be an integer from ${minInt32} to ${maxInt32}, got ${input}`,
      });
      return undefined;
    }
    return input;
  }
  if (ns.isTimestampSchema()) {
    const date =
      typeof input === 'string' || typeof input === 'number' ? new Date(input) : undefined;
    if (!date || Number.isNaN(date.getTime())) {
      problems.push({ path, message: 'must be an ISO-8601 timestamp' });
      return undefined;
    }
    return date;
  }
  if (ns.isBlobSchema()) {
    if (typeof input !== 'string') {
      problems.push({ path, message: `must be a base64 string, got ${describeType(input)}` });
      return undefined;
    }
    return Buffer.from(input, 'base64');
  }
  // Documents (free-form JSON) and anything this walker does not know pass through as given.
  return input;
}

function expectType(
  input: unknown,
  type: 'string' | 'boolean',
  path: string,
  problems: InputProblem[],
): unknown {
  if (typeof input === type) return input;
  problems.push({ path, message: `must be a ${type}, got ${describeType(input)}` });
  return undefined;
}

/**
 * Turns an SDK response (or any value of the structure `schema`) into Step Functions' PascalCase
 * JSON: member names capitalised, map keys untouched, timestamps as ISO-8601 strings, blobs as
 * base64. Keys the schema does not know (the SDK's `$metadata`) are dropped.
 */
export function toStepFunctionsShape(schema: SchemaRef, value: unknown): unknown {
  return convertOutput(NormalizedSchema.of(schema), value);
}

function convertOutput(ns: NormalizedSchema, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (ns.isStructSchema()) {
    if (!isPlainObject(value)) return value;
    const output: Record<string, unknown> = {};
    for (const [memberName, memberSchema] of ns.structIterator()) {
      const memberValue = value[memberName];
      if (memberValue !== undefined) {
        output[toPascalCase(memberName)] = convertOutput(memberSchema, memberValue);
      }
    }
    return output;
  }
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) return value;
    const elementSchema = ns.getValueSchema();
    return value.map((element) => convertOutput(elementSchema, element));
  }
  if (ns.isMapSchema()) {
    if (!isPlainObject(value)) return value;
    const valueSchema = ns.getValueSchema();
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => [key, convertOutput(valueSchema, entry)]),
    );
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
