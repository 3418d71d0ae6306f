/**
 * Paths that are not resources: health checks, `/version`, API discovery (`/api`, `/apis`, the
 * resource lists) and the OpenAPI v3 documents kubectl reads.
 */
import type { ServerResponse } from 'node:http';
import {
  makeCoreVersions,
  makeGroup,
  makeGroupList,
  makeOpenApiV3Document,
  makeOpenApiV3Index,
  makeResourceList,
  makeVersionInfo,
} from '../discovery.ts';
import { makePathNotFoundError } from '../status.ts';
import type { ApiContext } from './context.ts';
import { sendJson } from './respond.ts';

/** The discovery document at a path. @throws KubeApiError 404 when the path serves none */
const discover = (ctx: ApiContext, segments: string[]): unknown => {
  const path = `/${segments.join('/')}`;
  const types = ctx.store.knownTypes;
  if (path === '/version') return makeVersionInfo();
  if (path === '/api') return makeCoreVersions(ctx.serverAddress);
  if (path === '/apis') return makeGroupList(types);
  if (path === '/openapi/v3') return makeOpenApiV3Index(types);
  let found: unknown;
  if (segments[0] === 'openapi' && segments[1] === 'v3') {
    const isCore = segments[2] === 'api';
    const group = isCore ? '' : (segments[3] ?? '');
    const version = (isCore ? segments[3] : segments[4]) ?? '';
    found = makeOpenApiV3Document(types, group, version);
  } else if (segments[0] === 'api' && segments.length === 2) {
    found = makeResourceList(types, '', segments[1] ?? '');
  } else if (segments[0] === 'apis' && segments.length === 2) {
    found = makeGroup(types, segments[1] ?? '');
  } else if (segments[0] === 'apis' && segments.length === 3) {
    found = makeResourceList(types, segments[1] ?? '', segments[2] ?? '');
  }
  if (found === undefined) throw makePathNotFoundError();
  return found;
};

/** Answers a GET or HEAD on a non-resource path. @throws KubeApiError 404 */
export const handleNonResource = (
  ctx: ApiContext,
  res: ServerResponse,
  method: string,
  pathname: string,
  segments: string[],
): void => {
  if (method !== 'GET' && method !== 'HEAD') throw makePathNotFoundError();
  const head = method === 'HEAD';
  if (pathname === '/healthz' || pathname === '/livez' || pathname === '/readyz') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(head ? undefined : 'ok');
    return;
  }
  sendJson(res, 200, discover(ctx, segments), head);
};
