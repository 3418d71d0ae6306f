/**
 * List pagination (`limit` and `continue`), as the API server pages etcd: items in key order, a
 * continue token naming the list's resourceVersion and the last key served, 410 Expired once that
 * resourceVersion has left the kept history.
 */
import type { KubeObject } from '../objects.ts';
import { makeBadRequestError, makeExpiredError } from '../status.ts';
import type { ObjectStore } from '../store.ts';
import { parseIntegerParam } from './query-params.ts';

interface ContinueToken {
  rv: number;
  after: string;
}

const encodeContinue = (token: ContinueToken): string =>
  Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.after }),
    'utf8',
  ).toString('base64url');

const decodeContinue = (raw: string): ContinueToken => {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as {
      rv?: unknown;
      start?: unknown;
    };
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, after: parsed.start };
    }
  } catch {
    // falls through to the BadRequest below
  }
  throw makeBadRequestError('continue key is not valid: incorrect encoded start resourceVersion');
};

/** Which page a list request asks for. */
export interface PageRequest {
  limit: number | undefined;
  /** The key of the last item of the previous page. */
  after: string | undefined;
  /** The resourceVersion of the first page, which every later page reports. */
  listRv: number | undefined;
}

/** Reads `limit` and `continue`. @throws KubeApiError 400 for a bad value, 410 for an old token */
export const readPageRequest = (store: ObjectStore, params: URLSearchParams): PageRequest => {
  const limit = parseIntegerParam(params, 'limit');
  const continueRaw = params.get('continue');
  if (!continueRaw) return { limit, after: undefined, listRv: undefined };
  const token = decodeContinue(continueRaw);
  if (token.rv < store.oldestWatchableResourceVersion) {
    throw makeExpiredError(
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
    );
  }
  return { limit, after: token.after, listRv: token.rv };
};

/** One page of `items` (all matches, in key order) and the list metadata that goes with it. */
export const takePage = (
  items: KubeObject[],
  resourceVersion: string,
  request: PageRequest,
): { page: KubeObject[]; metadata: Record<string, unknown> } => {
  const { limit, after, listRv } = request;
  const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  const remaining = after === undefined ? items : items.filter((o) => keyOf(o) > after);
  const page = limit !== undefined && limit > 0 ? remaining.slice(0, limit) : remaining;
  const metadata: Record<string, unknown> = {
    resourceVersion: String(listRv ?? resourceVersion),
  };
  const last = page[page.length - 1];
  if (page.length < remaining.length && last) {
    metadata.continue = encodeContinue({
      rv: listRv ?? Number(resourceVersion),
      after: keyOf(last),
    });
    metadata.remainingItemCount = remaining.length - page.length;
  }
  return { page, metadata };
};
