/**
 * Reading request members out of a decoded JSON body. EKS validates member types and required
 * members server side (the SDK sends whatever it is given), answering `InvalidParameterException`,
 * so these readers throw exactly that.
 */
import { invalidParameter } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A required non-empty string member. */
export function readRequiredString(input: JsonObject, member: string): string {
  const value = input[member];
  if (value === undefined || value === null || value === '') {
    throw invalidParameter(`${member} is required and must be a non-empty string.`);
  }
  if (typeof value !== 'string') throw invalidParameter(`${member} must be a string.`);
  return value;
}

export function readString(input: JsonObject, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${member} must be a string.`);
  return value;
}

export function readBoolean(input: JsonObject, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidParameter(`${member} must be a boolean.`);
  return value;
}

export function readInteger(input: JsonObject, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidParameter(`${member} must be an integer.`);
  }
  return value;
}

export function readStringList(input: JsonObject, member: string): string[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalidParameter(`${member} must be a list of strings.`);
  }
  return [...value];
}

export function readStringMap(
  input: JsonObject,
  member: string,
): Record<string, string> | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value) || !Object.values(value).every((item) => typeof item === 'string')) {
    throw invalidParameter(`${member} must be a map of strings to strings.`);
  }
  return { ...(value as Record<string, string>) };
}

export function readObject(input: JsonObject, member: string): JsonObject | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw invalidParameter(`${member} must be an object.`);
  return value;
}

export function readObjectList(input: JsonObject, member: string): JsonObject[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every(isJsonObject)) {
    throw invalidParameter(`${member} must be a list of objects.`);
  }
  return value;
}

/** The required name member of a create request, checked by `checkResourceName`. */
export function readResourceName(
  input: JsonObject,
  member: string,
  kind: string,
  maxLength: number,
): string {
  const name = readRequiredString(input, member);
  checkResourceName(kind, name, maxLength);
  return name;
}

/** The `tags` member of a create request, checked by `checkTags`. */
export function readTags(input: JsonObject): Record<string, string> | undefined {
  const tags = readStringMap(input, 'tags');
  checkTags(tags);
  return tags;
}

/** Names of clusters, node groups and Fargate profiles: EKS's pattern `^[0-9A-Za-z][A-Za-z0-9\-_]*`. */
function checkResourceName(kind: string, name: string, maxLength: number): void {
  if (name.length > maxLength || !/^[0-9A-Za-z][A-Za-z0-9\-_]*$/.test(name)) {
    throw invalidParameter(
      `${kind} name ${JSON.stringify(name)} is invalid: it must be 1-${maxLength} characters, start with an alphanumeric character and contain only alphanumeric characters, hyphens and underscores.`,
    );
  }
}

/** EKS's tag rules: at most 50 tags, keys 1-128 characters not starting `aws:`, values up to 256. */
function checkTags(tags: Record<string, string> | undefined): void {
  if (!tags) return;
  const entries = Object.entries(tags);
  if (entries.length > 50) throw invalidParameter('A resource can have at most 50 tags.');
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) {
      throw invalidParameter(`Tag key ${JSON.stringify(key)} must be 1-128 characters.`);
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw invalidParameter(`Tag keys starting with "aws:" are reserved: ${JSON.stringify(key)}.`);
    }
    if (value.length > 256) {
      throw invalidParameter(`Tag value for ${JSON.stringify(key)} exceeds 256 characters.`);
    }
  }
}
