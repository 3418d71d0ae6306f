/**
 * DELETE of one object or a whole (selected) collection: DeleteOptions from the query and body
 * (propagation policy, preconditions, dryRun), and the answer the registry gives per resource
 * (the object, a Success Status, or 202 while finalizers hold it).
 */
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../objects.ts';
import { decodeBody, mediaTypeOf, readBodyBytes } from '../request-body.ts';
import { apiVersionOf, type ResourceType } from '../resource-types.ts';
import { makeSelectorPredicate } from '../selectors.ts';
import {
  KubeApiError,
  makeConflictError,
  makeFailureStatus,
  makeMethodNotAllowedError,
  makeNotFoundError,
  toQualifiedResource,
} from '../status.ts';
import type { PropagationPolicy } from '../store.ts';
import type { ApiContext, ResourceRequest } from './context.ts';
import { sendJson } from './respond.ts';

interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  uid?: string;
  resourceVersion?: string;
  dryRun: boolean;
}

const propagationPolicies = new Set(['Foreground', 'Background', 'Orphan']);

/** Resources whose registry answers DELETE with the deleted object rather than a Success Status. */
const returnsDeletedObject = (t: ResourceType): boolean =>
  t.group === '' &&
  (t.resource === 'pods' || t.resource === 'namespaces' || t.resource === 'services');

const readDeleteOptions = async (
  req: IncomingMessage,
  params: URLSearchParams,
): Promise<DeleteOptions> => {
  const bytes = await readBodyBytes(req);
  let body: Record<string, unknown> = {};
  if (bytes.length > 0) {
    const decoded = decodeBody(bytes, mediaTypeOf(req));
    if (typeof decoded === 'object' && decoded !== null) body = decoded as Record<string, unknown>;
  }
  let policy = params.get('propagationPolicy') ?? (body.propagationPolicy as string | undefined);
  const orphan = params.get('orphanDependents') ?? body.orphanDependents;
  if (policy === undefined && orphan !== undefined && orphan !== null) {
    policy = orphan === true || orphan === 'true' ? 'Orphan' : 'Background';
  }
  if (policy !== undefined && !propagationPolicies.has(policy)) {
    throw new KubeApiError(
      makeFailureStatus(
        422,
        'Invalid',
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
      ),
    );
  }
  const preconditions = (body.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
  const dryRun =
    params.getAll('dryRun').includes('All') ||
    (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
  return {
    ...(policy ? { propagationPolicy: policy as PropagationPolicy } : {}),
    ...(preconditions.uid ? { uid: preconditions.uid } : {}),
    ...(preconditions.resourceVersion ? { resourceVersion: preconditions.resourceVersion } : {}),
    dryRun,
  };
};

export const handleDelete = async (ctx: ApiContext, r: ResourceRequest): Promise<void> => {
  if (r.path.subresource) throw makeMethodNotAllowedError();
  const options = await readDeleteOptions(r.req, r.params);
  if (r.path.name === undefined) deleteCollection(ctx, r, options);
  else deleteOne(ctx, r, r.path.name, options);
};

const deleteCollection = (ctx: ApiContext, r: ResourceRequest, options: DeleteOptions): void => {
  const { store } = ctx;
  const { type, params } = r;
  const policy = options.propagationPolicy;
  const predicate = makeSelectorPredicate(params.get('labelSelector'), params.get('fieldSelector'));
  const { items } = store.list(type, r.namespace, predicate);
  const deleted: KubeObject[] = [];
  for (const item of items) {
    if (options.dryRun) {
      deleted.push(item);
      continue;
    }
    const gone = store.delete(
      type,
      item.metadata.namespace,
      item.metadata.name ?? '',
      policy ? { propagationPolicy: policy } : {},
    );
    if (gone) deleted.push(gone);
  }
  sendJson(r.res, 200, {
    kind: `${type.kind}List`,
    apiVersion: apiVersionOf(type),
    metadata: { resourceVersion: store.resourceVersion },
    items: deleted,
  });
};

const deleteOne = (
  ctx: ApiContext,
  r: ResourceRequest,
  name: string,
  options: DeleteOptions,
): void => {
  const { store } = ctx;
  const { type, namespace } = r;
  const policy = options.propagationPolicy;
  const current = store.get(type, namespace, name);
  if (!current) throw makeNotFoundError(type, name);
  if (options.uid !== undefined && options.uid !== current.metadata.uid) {
    throw new KubeApiError(
      makeFailureStatus(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${toQualifiedResource(type)} "${name}": Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${current.metadata.uid}`,
        { name, group: type.group, kind: type.resource },
      ),
    );
  }
  if (
    options.resourceVersion !== undefined &&
    options.resourceVersion !== current.metadata.resourceVersion
  ) {
    throw makeConflictError(type, name);
  }
  if (options.dryRun) {
    sendJson(r.res, 200, current);
    return;
  }
  const gone =
    store.delete(type, namespace, name, policy ? { propagationPolicy: policy } : {}) ?? current;
  const stillThere = store.get(type, namespace, name);
  if (stillThere) {
    // Finalizers hold the object: 202 with the object carrying its deletionTimestamp.
    sendJson(r.res, 202, stillThere);
  } else if (returnsDeletedObject(type)) {
    sendJson(r.res, 200, gone);
  } else {
    sendJson(r.res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: type.group, kind: type.resource, uid: gone.metadata.uid },
    });
  }
};
