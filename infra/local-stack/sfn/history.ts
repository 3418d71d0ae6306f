import { listPage } from './pagination.ts';
import { toEpochSeconds } from './protocol.ts';

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
  page(request: {
    maxResults?: unknown;
    reverseOrder?: unknown;
    nextToken?: unknown;
  }): Record<string, unknown> {
    const ordered = request.reverseOrder === true ? [...this.events].reverse() : this.events;
    return listPage('events', ordered, request, toWireEvent);
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
