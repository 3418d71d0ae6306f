/**
 * PUT (replace) and PATCH of one object or its `/status`: the new object is checked against the
 * stored one (name, namespace, resourceVersion), validated and written, or with `dryRun=All` only
 * answered.
 */
import type { KubeObject } from '../objects.ts';
import { mediaTypeOf, readBodyBytes } from '../request-body.ts';
import {
  makeBadRequestError,
  makeConflictError,
  makeMethodNotAllowedError,
  makeNotFoundError,
} from '../status.ts';
import { validateObject } from '../validation.ts';
import type { ApiContext, ResourceRequest } from './context.ts';
import { readObjectBody } from './object-body.ts';
import { applyPatchBody } from './patch.ts';
import { isDryRun } from './query-params.ts';
import { sendJson } from './respond.ts';

/** The stored object a PUT or PATCH changes. @throws KubeApiError 405 on a collection, 404 */
const findCurrent = (ctx: ApiContext, r: ResourceRequest): KubeObject => {
  if (r.path.name === undefined) throw makeMethodNotAllowedError();
  const name = r.path.name;
  const current = ctx.store.get(r.type, r.namespace, name);
  if (!current) throw makeNotFoundError(r.type, name);
  return current;
};

export const handleReplace = async (ctx: ApiContext, r: ResourceRequest): Promise<void> => {
  const { type, namespace } = r;
  const current = findCurrent(ctx, r);
  const name = r.path.name ?? '';
  const next = await readObjectBody(r.req, type);
  if (next.metadata.name !== undefined && next.metadata.name !== name) {
    throw makeBadRequestError(
      `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  if (type.namespaced && next.metadata.namespace && next.metadata.namespace !== namespace) {
    throw makeBadRequestError(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  next.metadata.name = name;
  if (namespace) next.metadata.namespace = namespace;
  save(ctx, r, current, next, next.metadata.resourceVersion || undefined);
};

export const handlePatch = async (ctx: ApiContext, r: ResourceRequest): Promise<void> => {
  const current = findCurrent(ctx, r);
  const next = applyPatchBody(await readBodyBytes(r.req), mediaTypeOf(r.req), current, r.type);
  const patchedRv = next.metadata.resourceVersion;
  if (patchedRv && patchedRv !== current.metadata.resourceVersion) {
    throw makeConflictError(r.type, r.path.name ?? '');
  }
  save(ctx, r, current, next, current.metadata.resourceVersion);
};

/** Writes `next` over `current` unless the stored resourceVersion moved past the expected one. */
const save = (
  ctx: ApiContext,
  r: ResourceRequest,
  current: KubeObject,
  next: KubeObject,
  expectResourceVersion: string | undefined,
): void => {
  const toStatus = r.path.subresource === 'status';
  if (current.metadata.managedFields !== undefined) {
    next.metadata.managedFields = current.metadata.managedFields;
  }
  if (!toStatus) validateObject(r.type, next);
  if (isDryRun(r.params)) {
    sendJson(r.res, 200, next);
    return;
  }
  const updated = ctx.store.update(r.type, next, {
    ...(expectResourceVersion ? { expectResourceVersion } : {}),
    subresource: toStatus ? 'status' : 'main',
  });
  sendJson(r.res, 200, updated);
};
