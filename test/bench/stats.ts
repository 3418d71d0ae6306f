/** Small statistics for bench figures. */

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
};

export interface Summary {
  count: number;
  minMs: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

export const summarize = (valuesMs: readonly number[]): Summary => ({
  count: valuesMs.length,
  minMs: round1(percentile(valuesMs, 0)),
  medianMs: round1(percentile(valuesMs, 50)),
  p90Ms: round1(percentile(valuesMs, 90)),
  p99Ms: round1(percentile(valuesMs, 99)),
  maxMs: round1(percentile(valuesMs, 100)),
});

export const toMiB = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** Runs `fn` over `items` with at most `limit` at a time. */
export const runPool = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await fn(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
};
