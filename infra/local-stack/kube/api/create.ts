/** POST to a collection: creates an object (or, with `dryRun=All`, answers what it would be). */
import { cloneObject } from '../objects.ts';
import {
  KubeApiError,
  makeBadRequestError,
  makeFailureStatus,
  makeMethodNotAllowedError,
  toQualifiedKind,
} from '../status.ts';
import type { ApiContext, ResourceRequest } from './context.ts';
import { makeManagedFields, readObjectBody, validateDefaulted } from './object-body.ts';
import { isDryRun } from './query-params.ts';
import { sendJson } from './respond.ts';

export const handleCreate = async (ctx: ApiContext, r: ResourceRequest): Promise<void> => {
  const { type, namespace } = r;
  if (r.path.name !== undefined || r.path.subresource) throw makeMethodNotAllowedError();
  const o = await readObjectBody(r.req, type);
  if (type.namespaced) {
    if (
      o.metadata.namespace !== undefined &&
      o.metadata.namespace !== '' &&
      o.metadata.namespace !== namespace
    ) {
      throw makeBadRequestError(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    o.metadata.namespace = namespace;
  }
  if (!o.metadata.name && !o.metadata.generateName) {
    throw new KubeApiError(
      makeFailureStatus(
        422,
        'Invalid',
        `${toQualifiedKind(type)} "" is invalid: metadata.name: Required value: name or generateName is required`,
        {
          group: type.group,
          kind: type.kind,
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: name or generateName is required',
              field: 'metadata.name',
            },
          ],
        },
      ),
    );
  }
  delete o.status;
  validateDefaulted(type, o);
  o.metadata.managedFields = makeManagedFields(r.req, type, 'Update');
  if (isDryRun(r.params)) {
    const preview = cloneObject(o);
    preview.metadata.name ??= `${preview.metadata.generateName ?? ''}`;
    sendJson(r.res, 201, preview);
    return;
  }
  sendJson(r.res, 201, ctx.store.create(type, o));
};
