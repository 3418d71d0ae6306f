import { SfnServiceError, toEpochSeconds } from './protocol.ts';

/** One execution history event as `GetExecutionHistory` returns it (details keyed as AWS does). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  details?: { key: string; value: Record<string, unknown> };
}

/** The `*EventDetails` member each event type carries, as in the SFN API model. */
const detailsKeyByType: Readonly<Record<string, string>> = {
  ExecutionStarted: 'executionStartedEventDetails',
  ExecutionSucceeded: 'executionSucceededEventDetails',
  ExecutionFailed: 'executionFailedEventDetails',
  ExecutionAborted: 'executionAbortedEventDetails',
  ExecutionTimedOut: 'executionTimedOutEventDetails',
  ActivityScheduled: 'activityScheduledEventDetails',
  ActivityScheduleFailed: 'activityScheduleFailedEventDetails',
  ActivityStarted: 'activityStartedEventDetails',
  ActivitySucceeded: 'activitySucceededEventDetails',
  ActivityFailed: 'activityFailedEventDetails',
  ActivityTimedOut: 'activityTimedOutEventDetails',
  MapStateStarted: 'mapStateStartedEventDetails',
  MapIterationStarted: 'mapIterationStartedEventDetails',
  MapIterationSucceeded: 'mapIterationSucceededEventDetails',
  MapIterationFailed: 'mapIterationFailedEventDetails',
};

const detailsKeyFor = (type: string): string | undefined => {
  if (type.endsWith('StateEntered')) return 'stateEnteredEventDetails';
  if (type.endsWith('StateExited')) return 'stateExitedEventDetails';
  return detailsKeyByType[type];
};

const defaultPageSize = 100;
const maxPageSize = 1000;

/**
 * An execution's history. `previousEventId` is the event recorded just before (AWS links the
 * causally preceding event; for a sequential machine that is the same one).
 */
export class ExecutionHistory {
  private readonly events: HistoryEvent[] = [];

  record(type: string, details?: Record<string, unknown>): HistoryEvent {
    const id = this.events.length + 1;
    const key = detailsKeyFor(type);
    const event: HistoryEvent = {
      id,
      previousEventId: id - 1,
      timestamp: new Date(),
      type,
      ...(key && details ? { details: { key, value: stripUndefined(details) } } : {}),
    };
    this.events.push(event);
    return event;
  }

  all(): readonly HistoryEvent[] {
    return this.events;
  }

  /** One page in `GetExecutionHistory` wire form. */
  page(request: { maxResults?: unknown; reverseOrder?: unknown; nextToken?: unknown }): {
    events: Record<string, unknown>[];
    nextToken?: string;
  } {
    const ordered = request.reverseOrder === true ? [...this.events].reverse() : this.events;
    const size = toPageSize(request.maxResults);
    const offset = decodeOffset(request.nextToken);
    const slice = ordered.slice(offset, offset + size);
    const next = offset + size < ordered.length ? encodeOffset(offset + size) : undefined;
    return {
      events: slice.map(toWireEvent),
      ...(next ? { nextToken: next } : {}),
    };
  }
}

const toWireEvent = (event: HistoryEvent): Record<string, unknown> => ({
  id: event.id,
  // AWS sends previousEventId 0 on the first event.
  previousEventId: event.previousEventId,
  timestamp: toEpochSeconds(event.timestamp),
  type: event.type,
  ...(event.details ? { [event.details.key]: event.details.value } : {}),
});

const stripUndefined = (value: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

/** `maxResults` 0 or absent means the default page size, as in AWS. */
export const toPageSize = (maxResults: unknown): number => {
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
export const encodeOffset = (offset: number): string =>
  Buffer.from(JSON.stringify({ v: 1, offset })).toString('base64url');

export const decodeOffset = (token: unknown): number => {
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
export const paginate = <T>(
  items: readonly T[],
  request: { maxResults?: unknown; nextToken?: unknown },
): { page: T[]; nextToken?: string } => {
  const size = toPageSize(request.maxResults);
  const offset = decodeOffset(request.nextToken);
  const page = items.slice(offset, offset + size);
  return offset + size < items.length ? { page, nextToken: encodeOffset(offset + size) } : { page };
};
