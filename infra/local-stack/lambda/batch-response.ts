/**
 * How Lambda's SQS event source reads a function's answer under `ReportBatchItemFailures`.
 *
 * Complete success (delete every record): a null or empty answer, or a null or empty
 * `batchItemFailures`. Complete failure (delete nothing): an answer that is not a JSON object, a
 * `batchItemFailures` that is not a list, an item without `itemIdentifier` (a bad key name), with
 * a null or empty one, or naming a message that is not in the batch. Otherwise the records named
 * stay (their visibility timeout decides when they come back) and the rest are deleted.
 */

/** What to do with a batch after a successful invocation. */
export type BatchVerdict =
  | { readonly kind: 'all-succeeded' }
  | { readonly kind: 'partial'; readonly failedMessageIds: ReadonlySet<string> }
  | { readonly kind: 'malformed'; readonly reason: string };

/** Reads a `ReportBatchItemFailures` answer against the message ids of the batch. */
export const readBatchResponse = (
  payload: unknown,
  batchMessageIds: ReadonlySet<string>,
): BatchVerdict => {
  if (payload === null || payload === undefined) return { kind: 'all-succeeded' };
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    return { kind: 'malformed', reason: 'the response is not a JSON object' };
  }
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: 'all-succeeded' };
  if (!Array.isArray(failures)) {
    return { kind: 'malformed', reason: 'batchItemFailures is not a list' };
  }
  const failedMessageIds = new Set<string>();
  for (const item of failures) {
    const identifier =
      typeof item === 'object' && item !== null
        ? (item as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof identifier !== 'string' || identifier === '') {
      return { kind: 'malformed', reason: 'an item has no itemIdentifier, or an empty one' };
    }
    if (!batchMessageIds.has(identifier)) {
      return { kind: 'malformed', reason: `itemIdentifier ${identifier} is not in the batch` };
    }
    failedMessageIds.add(identifier);
  }
  return failedMessageIds.size === 0
    ? { kind: 'all-succeeded' }
    : { kind: 'partial', failedMessageIds };
};
