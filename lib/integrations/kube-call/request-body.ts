/** How an `eks:call` `RequestBody` goes on the wire (contract §2.1, ours). */

import { stringifyJson } from '../../json/exact-json.ts';
import type { KubeCallMethod } from './parse-input.ts';

export interface EncodedBody {
  body: string;
  contentType: string;
}

export const contentTypes = {
  json: 'application/json',
  jsonPatch: 'application/json-patch+json',
  mergePatch: 'application/merge-patch+json',
  yaml: 'application/yaml',
} as const;

const parsesAsJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/**
 * Encodes a request body: an array or object is JSON (a PATCH with an array is a JSON Patch, with
 * an object a JSON Merge Patch, as `kubectl patch --type` names them); a string is sent as-is,
 * labelled JSON when it parses as JSON and YAML otherwise (the API server accepts both); other
 * JSON values (number, boolean, null) are sent as JSON. `undefined`: no body.
 */
export function encodeRequestBody(
  method: KubeCallMethod,
  requestBody: unknown,
): EncodedBody | undefined {
  if (requestBody === undefined) return undefined;
  if (typeof requestBody === 'string') {
    return {
      body: requestBody,
      contentType: parsesAsJson(requestBody) ? contentTypes.json : contentTypes.yaml,
    };
  }
  const body = stringifyJson(requestBody) ?? 'null';
  if (method === 'PATCH' && Array.isArray(requestBody)) {
    return { body, contentType: contentTypes.jsonPatch };
  }
  if (method === 'PATCH' && typeof requestBody === 'object' && requestBody !== null) {
    return { body, contentType: contentTypes.mergePatch };
  }
  return { body, contentType: contentTypes.json };
}
