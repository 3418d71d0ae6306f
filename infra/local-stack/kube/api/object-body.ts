/**
 * An object sent to be created or replaced: read and checked against the URL's type, validated as
 * it will look once defaulted, and stamped with the managedFields entry of the writing client.
 */
import type { IncomingMessage } from 'node:http';
import { applyObjectDefaults } from '../defaults.ts';
import { cloneObject, formatKubeTime, type KubeObject } from '../objects.ts';
import { decodeBody, mediaTypeOf, readBodyBytes } from '../request-body.ts';
import { apiVersionOf, type ResourceType } from '../resource-types.ts';
import { makeBadRequestError } from '../status.ts';
import { validateObject } from '../validation.ts';

export const readObjectBody = async (
  req: IncomingMessage,
  type: ResourceType,
): Promise<KubeObject> => {
  const body = decodeBody(await readBodyBytes(req), mediaTypeOf(req));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw makeBadRequestError(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
  }
  const o = body as KubeObject;
  if (o.kind !== undefined && o.kind !== type.kind) {
    throw makeBadRequestError(
      `the kind in the data (${String(o.kind)}) does not match the expected kind (${type.kind})`,
    );
  }
  if (o.apiVersion !== undefined && o.apiVersion !== apiVersionOf(type)) {
    throw makeBadRequestError(
      `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`,
    );
  }
  if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
  o.kind = type.kind;
  o.apiVersion = apiVersionOf(type);
  return o;
};

/** Validates what the object will look like once defaulted (as admission does). */
export const validateDefaulted = (type: ResourceType, o: KubeObject): void => {
  const candidate = cloneObject(o);
  if (!candidate.metadata.name && candidate.metadata.generateName) {
    candidate.metadata.name = `${candidate.metadata.generateName}abcde`;
  }
  candidate.metadata.uid ??= '00000000-0000-0000-0000-000000000000';
  applyObjectDefaults(type, candidate);
  validateObject(type, candidate);
};

export const makeManagedFields = (req: IncomingMessage, type: ResourceType, operation: string) => [
  {
    manager: (req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown',
    operation,
    apiVersion: apiVersionOf(type),
    time: formatKubeTime(),
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': {} },
  },
];
