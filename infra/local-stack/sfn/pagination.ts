/**
 * Step Functions' pagination, one rule for every List* operation and GetExecutionHistory:
 * `maxResults` (0 or absent: 100, at most 1,000) and opaque `nextToken`s.
 */
import { SfnServiceError } from './protocol.ts';

const defaultPageSize = 100;
const maxPageSize = 1000;

/** `maxResults` 0 or absent means the default page size, as in AWS. */
const toPageSize = (maxResults: unknown): number => {
  if (maxResults === undefined || maxResults === null || maxResults === 0) return defaultPageSize;
  if (
    typeof maxResults !== 'number' ||
    !Number.isInteger(maxResults) ||
    maxResults < 0 ||
    maxResults > maxPageSize
  ) {
    throw new SfnServiceError(
      'ValidationException',
      `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${maxPageSize}`,
    );
  }
  return maxResults;
};

/** Opaque page tokens, as AWS's are: a version tag and an offset. */
const encodeOffset = (offset: number): string =>
  Buffer.from(JSON.stringify({ v: 1, offset })).toString('base64url');

const decodeOffset = (token: unknown): number => {
  if (token === undefined || token === null || token === '') return 0;
  try {
    const decoded = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as {
      v?: unknown;
      offset?: unknown;
    };
    if (decoded.v === 1 && typeof decoded.offset === 'number' && decoded.offset >= 0) {
      return decoded.offset;
    }
  } catch {
    // fall through: AWS answers InvalidToken for a page token it did not issue
  }
  throw new SfnServiceError('InvalidToken', `Invalid Token: 'Invalid nextToken'`);
};

/** Slices a list into one page, for the List* operations. */
const paginate = <T>(
  items: readonly T[],
  request: { maxResults?: unknown; nextToken?: unknown },
): { page: T[]; nextToken?: string } => {
  const size = toPageSize(request.maxResults);
  const offset = decodeOffset(request.nextToken);
  const page = items.slice(offset, offset + size);
  return offset + size < items.length ? { page, nextToken: encodeOffset(offset + size) } : { page };
};

/** One page in wire form: the items under `member`, and `nextToken` only when there is more. */
export const listPage = <T>(
  member: string,
  items: readonly T[],
  request: { maxResults?: unknown; nextToken?: unknown },
  toWire: (item: T) => Record<string, unknown>,
): Record<string, unknown> => {
  const { page, nextToken } = paginate(items, request);
  return { [member]: page.map((item) => toWire(item)), ...(nextToken ? { nextToken } : {}) };
};
