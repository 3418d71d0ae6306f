/**
 * The reads: GET of one object, list (selectors, pagination) and watch, each as JSON or, when the
 * client asks for it (`kubectl get`), as a server-printed Table.
 */
import { cloneObject } from '../objects.ts';
import { apiVersionOf, findBuiltinType } from '../resource-types.ts';
import { makeSelectorPredicate } from '../selectors.ts';
import { makeNotFoundError } from '../status.ts';
import { negotiateTable, toTable } from '../table.ts';
import { serveWatch } from '../watch.ts';
import type { ApiContext, ResourceRequest } from './context.ts';
import { readPageRequest, takePage } from './pagination.ts';
import { parseBooleanParam, parseIntegerParam } from './query-params.ts';
import { sendJson } from './respond.ts';

const selectorOf = (params: URLSearchParams) =>
  makeSelectorPredicate(params.get('labelSelector'), params.get('fieldSelector'));

export const handleGet = (ctx: ApiContext, r: ResourceRequest): void => {
  const { type, path, params } = r;
  const found = ctx.store.get(type, r.namespace, path.name ?? '');
  if (!found) throw makeNotFoundError(type, path.name ?? '');
  const tableVersion = negotiateTable(r.req.headers.accept);
  const includeObject = params.get('includeObject');
  sendJson(
    r.res,
    200,
    tableVersion ? toTable(type, [found], { version: tableVersion, includeObject }) : found,
    r.head,
  );
};

export const handleList = (ctx: ApiContext, r: ResourceRequest): void => {
  const { type, params } = r;
  const predicate = selectorOf(params);
  const pageRequest = readPageRequest(ctx.store, params);
  const { items, resourceVersion } = ctx.store.list(type, r.namespace, predicate, {
    copies: false,
  });
  const { page: stored, metadata } = takePage(items, resourceVersion, pageRequest);
  const page = stored.map(cloneObject);
  const tableVersion = negotiateTable(r.req.headers.accept);
  if (tableVersion) {
    const includeObject = params.get('includeObject');
    const table = toTable(type, page, {
      version: tableVersion,
      listMetadata: metadata,
      includeObject,
    });
    sendJson(r.res, 200, table, r.head);
    return;
  }
  const builtin = findBuiltinType(type.group, type.resource) !== undefined;
  sendJson(
    r.res,
    200,
    {
      kind: `${type.kind}List`,
      apiVersion: apiVersionOf(type),
      metadata,
      // Typed lists of built-in resources carry no kind/apiVersion per item (custom ones do).
      items: builtin ? page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest) : page,
    },
    r.head,
  );
};

/** The Table a watch's events are printed as, when the client asked for one (kubectl get -w). */
const watchTable = (accept: string | undefined, params: URLSearchParams) => {
  const version = negotiateTable(accept);
  return version === undefined
    ? {}
    : { table: { version, includeObject: params.get('includeObject') } };
};

export const handleWatch = (ctx: ApiContext, r: ResourceRequest): void => {
  const { params } = r;
  const predicate = selectorOf(params);
  const single = r.path.name;
  serveWatch(
    r.req,
    r.res,
    {
      type: r.type,
      namespace: r.namespace,
      predicate: single ? (o) => o.metadata.name === single && predicate(o) : predicate,
      resourceVersion: params.get('resourceVersion') ?? undefined,
      allowBookmarks: parseBooleanParam(params, 'allowWatchBookmarks') ?? false,
      timeoutSeconds: parseIntegerParam(params, 'timeoutSeconds'),
      ...watchTable(r.req.headers.accept, params),
    },
    {
      store: ctx.store,
      faults: ctx.faults,
      bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      defaultTimeoutSeconds: ctx.defaultWatchTimeoutSeconds,
      track: (end) => {
        ctx.openWatches.add(end);
        return () => ctx.openWatches.delete(end);
      },
    },
  );
};
