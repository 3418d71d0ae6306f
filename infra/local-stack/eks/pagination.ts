/** EKS's List* pagination, shared by clusters, node groups and Fargate profiles. */
import { invalidParameter } from './errors.ts';

/** One page of a List* answer. */
export interface NamePage {
  names: string[];
  nextToken?: string;
}

const maxPageSize = 100;

/**
 * Names sorted, a page at a time. The token names the last item returned (not an offset), so a
 * resource deleted between pages does not make the next page skip one.
 */
export function paginate(
  names: string[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): NamePage {
  const pageSize = maxResults ?? maxPageSize;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
    throw invalidParameter(`maxResults must be between 1 and ${maxPageSize}.`);
  }
  const sorted = [...names].sort();
  let start = 0;
  if (nextToken !== undefined) {
    const after = decodeNextToken(nextToken);
    start = sorted.findIndex((name) => name > after);
    if (start === -1) start = sorted.length;
  }
  const page = sorted.slice(start, start + pageSize);
  const last = page.at(-1);
  return start + pageSize < sorted.length && last !== undefined
    ? { names: page, nextToken: encodeNextToken(last) }
    : { names: page };
}

const encodeNextToken = (after: string): string =>
  Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');

const decodeNextToken = (token: string): string => {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const after = (decoded as { after?: unknown }).after;
    if (typeof after === 'string') return after;
  } catch {
    // fall through to the EKS error below
  }
  throw invalidParameter('The nextToken provided is not valid.');
};
