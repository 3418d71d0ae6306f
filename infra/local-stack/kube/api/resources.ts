/**
 * Requests on resources (`/api/v1/...`, `/apis/<g>/<v>/...`): self reviews first (any user may ask
 * what they can do), then RBAC, then the pod log subresource, then the object handlers by verb.
 */
import type { KubeUser } from '../auth.ts';
import { decodeBody, mediaTypeOf, readBodyBytes } from '../request-body.ts';
import { findBuiltinType } from '../resource-types.ts';
import {
  answerSelfSubjectAccessReview,
  answerSelfSubjectRulesReview,
  selfSubjectAccessReviewPath,
  selfSubjectRulesReviewResource,
} from '../self-subject-access-review.ts';
import { makeMethodNotAllowedError, makePathNotFoundError } from '../status.ts';
import type { ApiContext, ResourcePathRequest, ResourceRequest } from './context.ts';
import { handleCreate } from './create.ts';
import { handleDelete } from './delete.ts';
import { handleLog } from './logs.ts';
import { isWatchRequest } from './query-params.ts';
import { handleGet, handleList, handleWatch } from './read.ts';
import { resolveType } from './resource-path.ts';
import { sendJson } from './respond.ts';
import { handlePatch, handleReplace } from './update.ts';

/** The RBAC verb of a request, as kube-apiserver's request info resolver names it. */
const verbOf = (method: string, isWatch: boolean, isCollection: boolean): string => {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return isWatch ? 'watch' : isCollection ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return isCollection ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
};

/** Answers `kubectl auth can-i` (SelfSubjectAccessReview, SelfSubjectRulesReview); false if not one. */
const answerSelfReview = async (r: ResourcePathRequest, user: KubeUser): Promise<boolean> => {
  const { req, path: p } = r;
  if (p.group !== selfSubjectAccessReviewPath.group || req.method !== 'POST') return false;
  const answer =
    p.resource === selfSubjectAccessReviewPath.resource
      ? answerSelfSubjectAccessReview
      : p.resource === selfSubjectRulesReviewResource
        ? answerSelfSubjectRulesReview
        : undefined;
  if (!answer) return false;
  sendJson(r.res, 201, answer(decodeBody(await readBodyBytes(req), mediaTypeOf(req)), user));
  return true;
};

export const handleResource = async (
  ctx: ApiContext,
  incoming: ResourcePathRequest,
  user: KubeUser,
): Promise<void> => {
  const { req, path: p, params } = incoming;
  const method = req.method ?? 'GET';
  const isWatch = isWatchRequest(params);
  const isCollection = p.name === undefined;
  // Self reviews: any authenticated user may ask, as system:basic-user.
  if (await answerSelfReview(incoming, user)) return;
  ctx.auth.authorize(user, {
    verb: verbOf(method, isWatch, isCollection),
    group: p.group,
    resource: p.resource,
    subresource: p.subresource,
    namespace: p.namespace,
    name: p.name,
  });

  if (p.group === '' && p.resource === 'pods' && p.subresource === 'log') {
    if (method !== 'GET' && method !== 'HEAD') throw makeMethodNotAllowedError();
    await handleLog(ctx, incoming);
    return;
  }
  if (p.subresource !== undefined && p.subresource !== 'status') throw makePathNotFoundError();

  const type = resolveType(ctx.store, p);
  if (!type) throw makePathNotFoundError();
  if (type.namespaced === false && p.namespace !== undefined) throw makePathNotFoundError();
  if (p.subresource === 'status' && !type.hasStatus && findBuiltinType(type.group, type.resource)) {
    throw makePathNotFoundError();
  }
  const namespace = type.namespaced ? p.namespace : undefined;
  if (type.namespaced && namespace === undefined && !isCollection) throw makePathNotFoundError();

  const request: ResourceRequest = {
    ...incoming,
    type,
    namespace,
    head: method === 'HEAD',
  };
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (isWatch) handleWatch(ctx, request);
      else if (isCollection) handleList(ctx, request);
      else handleGet(ctx, request);
      return;
    case 'POST':
      return handleCreate(ctx, request);
    case 'PUT':
      return handleReplace(ctx, request);
    case 'PATCH':
      return handlePatch(ctx, request);
    case 'DELETE':
      return handleDelete(ctx, request);
    default:
      throw makeMethodNotAllowedError();
  }
};
