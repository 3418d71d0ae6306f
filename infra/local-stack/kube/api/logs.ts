/** `GET /api/v1/namespaces/<ns>/pods/<name>/log`: a pod's log, streamed from the log source. */
import type { Readable } from 'node:stream';
import type { PodLogQuery } from '../log-source.ts';
import { builtinTypes } from '../resource-types.ts';
import { makeNotFoundError, makePathNotFoundError } from '../status.ts';
import type { ApiContext, ResourcePathRequest } from './context.ts';
import { parseBooleanParam, parseIntegerParam } from './query-params.ts';

const readLogQuery = (params: URLSearchParams): PodLogQuery => {
  const query: PodLogQuery = {};
  const container = params.get('container');
  if (container) query.container = container;
  for (const key of ['tailLines', 'limitBytes', 'sinceSeconds'] as const) {
    const value = parseIntegerParam(params, key);
    if (value !== undefined) query[key] = value;
  }
  for (const key of ['timestamps', 'previous', 'follow'] as const) {
    const value = parseBooleanParam(params, key);
    if (value !== undefined) query[key] = value;
  }
  return query;
};

export const handleLog = async (ctx: ApiContext, r: ResourcePathRequest): Promise<void> => {
  const { req, res, path: p } = r;
  const query = readLogQuery(r.params);
  const namespace = p.namespace ?? 'default';
  const podName = p.name ?? '';
  if (!ctx.logSource) {
    if (!ctx.store.get(builtinTypes.pods, namespace, podName)) {
      throw makeNotFoundError(builtinTypes.pods, podName);
    }
    throw makePathNotFoundError();
  }
  const stream: Readable = await ctx.logSource.open(namespace, podName, query);
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  if (req.method === 'HEAD') {
    stream.destroy();
    res.end();
    return;
  }
  // pipe() honours backpressure: a huge log is never buffered whole.
  stream.pipe(res);
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
};
