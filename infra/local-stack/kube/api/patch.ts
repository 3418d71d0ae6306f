/**
 * PATCH bodies: JSON merge patch (RFC 7386, also used for kubectl's strategic merge patches) and
 * JSON patch (RFC 6902), with the API server's errors; server-side apply is refused with 415.
 */
import jsonPatch from 'fast-json-patch';
import { cloneObject, type KubeObject } from '../objects.ts';
import { decodeBody } from '../request-body.ts';
import type { ResourceType } from '../resource-types.ts';
import { KubeApiError, makeBadRequestError, makeFailureStatus } from '../status.ts';

/** RFC 7386 JSON merge patch. */
const applyMergePatch = (target: unknown, patch: unknown): unknown => {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    return cloneObject(patch);
  const base: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = applyMergePatch(base[key], value);
  }
  return base;
};

/** Applies a PATCH body of any supported content type to `current`. */
export function applyPatchBody(
  bytes: Buffer,
  mediaType: string,
  current: KubeObject,
  type: ResourceType,
): KubeObject {
  switch (mediaType) {
    case 'application/merge-patch+json':
    // kubectl sends strategic merge patches; we apply them as JSON merge patches. The difference
    // (lists merged by key instead of replaced, `$patch` directives) does not matter to the
    // fields our worker and tests patch (labels, annotations, scalars, whole lists).
    case 'application/strategic-merge-patch+json': {
      const patch = decodeBody(bytes, 'application/json');
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw makeBadRequestError(
          'json: cannot unmarshal array into Go value of type map[string]interface {}',
        );
      }
      return applyMergePatch(current, patch) as KubeObject;
    }
    case 'application/json-patch+json': {
      const ops = decodeBody(bytes, 'application/json');
      if (!Array.isArray(ops)) {
        throw makeBadRequestError(
          'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
        );
      }
      try {
        const result = jsonPatch.applyPatch(
          cloneObject(current),
          ops as jsonPatch.Operation[],
          true,
          false,
        );
        return result.newDocument as KubeObject;
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (name === 'TEST_OPERATION_FAILED') {
          throw new KubeApiError(
            makeFailureStatus(
              422,
              'Invalid',
              `the server rejected our request due to an error in our request`,
              {
                name: current.metadata.name ?? '',
                group: type.group,
                kind: type.kind,
                causes: [{ reason: 'FieldValueInvalid', message: 'testing value failed' }],
              },
            ),
          );
        }
        throw new KubeApiError(
          makeFailureStatus(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: ${(error as Error).message.split('\n')[0]}`,
          ),
        );
      }
    }
    case 'application/apply-patch+yaml':
      throw new KubeApiError(
        makeFailureStatus(
          415,
          'UnsupportedMediaType',
          'server-side apply is not supported by the local API server',
        ),
      );
    default:
      throw new KubeApiError(
        makeFailureStatus(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
        ),
      );
  }
}
