/**
 * The batch actions' shared rules: 1-10 entries with distinct ids, each entry run on its own, its
 * refusal reported in `Failed` rather than failing the whole request.
 */
import { SqsError, sqsErrors } from './errors.ts';

const batchEntryIdPattern = /^[A-Za-z0-9_-]{1,80}$/;
const maxBatchEntries = 10;

export type BatchEntry = Record<string, unknown> & { Id: string };

export const batchEntries = (value: unknown): BatchEntry[] => {
  if (!Array.isArray(value) || value.length === 0) throw sqsErrors.emptyBatchRequest();
  if (value.length > maxBatchEntries) throw sqsErrors.tooManyEntriesInBatchRequest(value.length);
  const seen = new Set<string>();
  for (const entry of value as Record<string, unknown>[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !batchEntryIdPattern.test(id))
      throw sqsErrors.invalidBatchEntryId();
    if (seen.has(id)) throw sqsErrors.batchEntryIdsNotDistinct(id);
    seen.add(id);
  }
  return value as BatchEntry[];
};

/** Runs each entry; what `run` returns for an entry joins its `Id` in `Successful`. */
export const runBatch = (
  entries: readonly BatchEntry[],
  run: (entry: BatchEntry) => Record<string, unknown>,
): Record<string, unknown> => {
  const Successful: Record<string, unknown>[] = [];
  const Failed: Record<string, unknown>[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...run(entry) });
    } catch (error) {
      Failed.push(batchFailure(entry.Id, error));
    }
  }
  return { Successful, Failed };
};

const batchFailure = (id: string, error: unknown): Record<string, unknown> => {
  if (!(error instanceof SqsError)) throw error;
  return {
    Id: id,
    SenderFault: error.fault === 'Sender',
    Code: error.queryCode,
    Message: error.message,
  };
};
