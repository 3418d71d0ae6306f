/**
 * `LogOptions.RetrieveLogs`: every container's log of every pod of the Job, fitted into what is
 * left of Step Functions' 262,144-byte output (contract §2.2, §5).
 *
 * The budget is shared with max-min fairness: logs smaller than an equal share keep everything,
 * the others split what those leave. No log is ever read whole into memory: a first pass reads at
 * most the whole budget of each log (asking the API for `limitBytes`, and stopping anyway), and a
 * log larger than its share is re-read from the API with `tailLines` (estimated from the bytes per
 * line seen) so its tail is kept, cut at a line boundary, marked `"truncated": true`.
 *
 * (ours) Init containers are included, listed before the app containers: a failed init container
 * is where a Job that never started says why. Ephemeral (debug) containers are not.
 */
import { ErrorName, TaskFailedError } from '../../errors.ts';
import { isLosslessNumber, parseJson, stringifyJson } from '../../json/exact-json.ts';
import type { JobApi, KubePod, LogReadOptions } from './job-api.ts';
import {
  keepTail,
  measureJsonBytes,
  measureSerializedBytes,
  readBounded,
  readTail,
} from './log-text.ts';

/** One container's entry in `logs.pods.<pod>.containers`. */
export type ContainerLogEntry =
  | { log: unknown; truncated?: true }
  | { error: string; cause: string };

export interface LogsSection {
  pods: Record<string, { containers: Record<string, ContainerLogEntry> }>;
}

export interface ContainerRef {
  pod: string;
  container: string;
}

export interface CollectLogsOptions {
  api: JobApi;
  namespace: string;
  pods: readonly KubePod[];
  /** Keep logs as strings even when they are one JSON document. */
  rawLogs: boolean;
  logParameters: Readonly<Record<string, readonly string[]>>;
  /** The output without `logs` (the final Job), whose size comes off the limit first. */
  outputWithoutLogs: Record<string, unknown>;
  maxOutputBytes: number;
  signal: AbortSignal;
  /** Logs read at the same time. @default 4 */
  concurrency?: number;
}

/** Every container of a pod, init containers first. */
export const listContainerRefs = (pods: readonly KubePod[]): ContainerRef[] =>
  pods.flatMap((pod) => {
    const podName = pod.metadata?.name;
    if (podName === undefined) return [];
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
      (container) => container.name,
    );
    return names.map((container) => ({ pod: podName, container }));
  });

/** Room `"truncated":true` may take in an entry, reserved up front so a trim never overshoots. */
const truncatedMarkBytes =
  measureJsonBytes({ log: '', truncated: true }) - measureJsonBytes({ log: '' });
/** A cause of a log read failure is cut to this many characters: it shares the log budget. */
const maxLogErrorCauseChars = 1024;
/** Logs kept in memory from the first pass, at most this many times the budget in total. */
const retainedBudgetFactor = 2;

const mapWithConcurrency = async <T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
};

/**
 * Max-min fair shares of `budgetBytes` for the given demands: ascending, each demand gets all it
 * asks while that is under an equal split of what remains; everyone left splits the rest.
 */
export const shareBudgetFairly = (demands: readonly number[], budgetBytes: number): number[] => {
  const order = demands
    .map((_, index) => index)
    .sort((a, b) => (demands[a] ?? 0) - (demands[b] ?? 0));
  const shares = new Array<number>(demands.length).fill(0);
  let remaining = Math.max(0, budgetBytes);
  order.forEach((index, position) => {
    const equalShare = Math.floor(remaining / (order.length - position));
    const share = Math.min(demands[index] ?? 0, equalShare);
    shares[index] = share;
    remaining -= share;
  });
  return shares;
};

const toInteger = (values: readonly string[] | undefined): number | undefined => {
  const value = values?.[0];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
};

/** The log query: the state machine's parameters, with our bounds merged in (the smaller wins). */
const makeLogQuery = (
  logParameters: Readonly<Record<string, readonly string[]>>,
  bounds: { tailLines?: number; limitBytes?: number },
): LogReadOptions => {
  const { tailLines, limitBytes, ...extra } = logParameters;
  const userTailLines = toInteger(tailLines);
  const userLimitBytes = toInteger(limitBytes);
  const pick = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  const options: LogReadOptions = { extra };
  const chosenTail = pick(userTailLines, bounds.tailLines);
  const chosenLimit = pick(userLimitBytes, bounds.limitBytes);
  if (chosenTail !== undefined) options.tailLines = chosenTail;
  if (chosenLimit !== undefined) options.limitBytes = chosenLimit;
  return options;
};

/**
 * The log as output: the parsed document when it is one JSON document and raw logs are off.
 * Numbers inside it are kept exact (`{"id": 12345678901234567890123}` stays as written).
 * (ours) A log that is a bare number stays the text unless a double writes it back identically:
 * `print bpi(2000)` writes a 2,000-digit JSON number, which reads better as text.
 */
export const toLogValue = (text: string, rawLogs: boolean): unknown => {
  if (rawLogs) return text;
  const trimmed = text.trim();
  if (trimmed === '') return text;
  let value: unknown;
  try {
    value = parseJson(trimmed);
  } catch {
    // Not one JSON document, or nested deeper than the parser can go: the text it is.
    return text;
  }
  if (isLosslessNumber(value)) return text;
  if (typeof value === 'number' && JSON.stringify(value) !== trimmed) return text;
  return value;
};

const toErrorEntry = (error: unknown): ContainerLogEntry => {
  if (error instanceof TaskFailedError) {
    const cause =
      typeof error.failureCause === 'string'
        ? error.failureCause
        : (stringifyJson(error.failureCause) ?? error.message);
    return { error: error.errorName, cause: cause.slice(0, maxLogErrorCauseChars) };
  }
  return {
    error: ErrorName.LogReadFailed,
    cause: String((error as Error)?.message ?? error).slice(0, maxLogErrorCauseChars),
  };
};

type FirstPass =
  | { kind: 'error'; entry: ContainerLogEntry }
  | { kind: 'read'; complete: boolean; serializedBytes: number; lines: number; text?: string };

/** Extra bytes a log value takes over the `""` placeholder it replaces. */
const measureValueBytes = (value: unknown): number => Math.max(0, measureJsonBytes(value) - 2);

/**
 * Reads the logs of `pods` into a `logs` section that, added to `outputWithoutLogs`, fits
 * `maxOutputBytes`.
 * @throws TaskFailedError `EKS.OutputTooLarge` when the output without logs alone is too large.
 */
export const collectLogs = async (options: CollectLogsOptions): Promise<LogsSection> => {
  const { api, namespace, rawLogs, logParameters, signal } = options;
  const concurrency = options.concurrency ?? 4;
  const refs = listContainerRefs(options.pods);

  const buildSection = (entries: readonly ContainerLogEntry[]): LogsSection => {
    const section: LogsSection = { pods: {} };
    refs.forEach((ref, index) => {
      const pod = section.pods[ref.pod] ?? { containers: {} };
      section.pods[ref.pod] = pod;
      pod.containers[ref.container] = entries[index] ?? { log: '' };
    });
    return section;
  };
  /** One container's log, asked with the state machine's parameters and our bounds. */
  const openLog = (ref: ContainerRef, bounds: { tailLines?: number; limitBytes?: number }) =>
    api.readLog(namespace, ref.pod, ref.container, makeLogQuery(logParameters, bounds), signal);
  const measureOutput = (entries: readonly ContainerLogEntry[]) =>
    measureJsonBytes({ ...options.outputWithoutLogs, logs: buildSection(entries) });
  const throwTooLarge = (baseBytes: number): never => {
    throw new TaskFailedError(
      ErrorName.OutputTooLarge,
      'The Job and its log entries alone exceed the output limit.',
      {
        failureCause: {
          message:
            'The output is too large even with every log emptied: the Job object and the list of ' +
            'pods and containers alone exceed the Step Functions limit.',
          sizeBytes: baseBytes,
          maxBytes: options.maxOutputBytes,
          pods: options.pods.length,
          containers: refs.length,
        },
      },
    );
  };

  // Pass 1: how big is each log? The upper bound for any one log is the whole log budget.
  const emptyEntries = refs.map((): ContainerLogEntry => ({ log: '' }));
  const firstBaseBytes = measureOutput(emptyEntries) + truncatedMarkBytes * refs.length;
  const firstBudgetBytes = options.maxOutputBytes - firstBaseBytes;
  if (firstBudgetBytes < 0) throwTooLarge(firstBaseBytes);
  let retainableBytes = firstBudgetBytes * retainedBudgetFactor;
  const firstPass = await mapWithConcurrency(refs, concurrency, async (ref): Promise<FirstPass> => {
    try {
      const stream = await openLog(ref, { limitBytes: firstBudgetBytes + 1 });
      const read = await readBounded(stream, firstBudgetBytes, retainableBytes > 0);
      const pass: FirstPass = { kind: 'read', ...read, text: read.text };
      if (read.text !== undefined) retainableBytes -= read.rawBytes;
      return pass;
    } catch (error) {
      signal.throwIfAborted();
      return { kind: 'error', entry: toErrorEntry(error) };
    }
  });

  // The demand of each log: its serialised size, or "more than the budget" when not read whole.
  const values: unknown[] = firstPass.map((pass) =>
    pass.kind === 'read' && pass.text !== undefined ? toLogValue(pass.text, rawLogs) : undefined,
  );
  const demands = firstPass.map((pass, index) => {
    if (pass.kind === 'error') return 0;
    if (!pass.complete) return Number.POSITIVE_INFINITY;
    const value = values[index];
    return value === undefined ? pass.serializedBytes : measureValueBytes(value);
  });
  const baseEntries = firstPass.map((pass) => (pass.kind === 'error' ? pass.entry : { log: '' }));
  const logCount = firstPass.filter((pass) => pass.kind === 'read').length;
  const baseBytes = measureOutput(baseEntries) + truncatedMarkBytes * logCount;
  const budgetBytes = options.maxOutputBytes - baseBytes;
  if (budgetBytes < 0) throwTooLarge(baseBytes);
  const shares = shareBudgetFairly(demands, budgetBytes);

  // Pass 2: fetch each log at its share.
  const entries = await mapWithConcurrency(
    firstPass,
    concurrency,
    async (pass, index): Promise<ContainerLogEntry> => {
      if (pass.kind === 'error') return pass.entry;
      const ref = refs[index] as ContainerRef;
      const shareBytes = shares[index] ?? 0;
      const demandBytes = demands[index] ?? 0;
      try {
        if (pass.text !== undefined) {
          if (demandBytes <= shareBytes) return { log: values[index] };
          return { log: keepTail(pass.text, shareBytes).text, truncated: true };
        }
        if (demandBytes <= shareBytes) {
          // Read whole in pass 1 but not kept: read again, within the share.
          const stream = await openLog(ref, { limitBytes: firstBudgetBytes + 1 });
          const tail = await readTail(stream, shareBytes);
          if (tail.truncated) return { log: tail.text, truncated: true };
          const value = toLogValue(tail.text, rawLogs);
          return measureValueBytes(value) <= shareBytes ? { log: value } : { log: tail.text };
        }
        return await readLogTail(ref, pass, shareBytes);
      } catch (error) {
        signal.throwIfAborted();
        return toErrorEntry(error);
      }
    },
  );

  /**
   * The tail of a log too large for its share. `tailLines` is estimated from the bytes per line
   * of pass 1 with some slack (the tail keeper trims the surplus); when the lines at the end turn
   * out shorter than estimated, one more read with a scaled-up count fills the share better.
   */
  async function readLogTail(
    ref: ContainerRef,
    pass: Extract<FirstPass, { kind: 'read' }>,
    shareBytes: number,
  ): Promise<ContainerLogEntry> {
    if (shareBytes <= 0) return { log: '', truncated: true };
    const bytesPerLine =
      pass.lines > 0 ? pass.serializedBytes / pass.lines : Number.POSITIVE_INFINITY;
    let tailLines = Math.max(1, Math.ceil((shareBytes / bytesPerLine) * 1.2) + 1);
    for (let attempt = 0; ; attempt++) {
      const stream = await openLog(ref, { tailLines });
      const tail = await readTail(stream, shareBytes);
      const filledEnough = tail.truncated || tail.serializedBytes >= shareBytes * 0.9;
      if (filledEnough || attempt >= 1 || tail.serializedBytes === 0) {
        return { log: tail.text, truncated: true };
      }
      tailLines = Math.ceil(tailLines * (shareBytes / tail.serializedBytes) * 1.1) + 1;
    }
  }

  // The shares are exact by construction; this guards against a log that changed between passes.
  for (
    let guard = 0;
    guard < refs.length && measureOutput(entries) > options.maxOutputBytes;
    guard++
  ) {
    const overBytes = measureOutput(entries) - options.maxOutputBytes;
    let largest = -1;
    let largestBytes = 0;
    entries.forEach((entry, index) => {
      const bytes = 'log' in entry ? measureValueBytes(entry.log) : 0;
      if (bytes > largestBytes) {
        largest = index;
        largestBytes = bytes;
      }
    });
    const entry = entries[largest];
    if (entry === undefined || !('log' in entry)) break;
    const text = typeof entry.log === 'string' ? entry.log : (stringifyJson(entry.log) ?? 'null');
    entries[largest] = {
      log: keepTail(
        text,
        Math.max(0, measureSerializedBytes(text) - overBytes - truncatedMarkBytes),
      ).text,
      truncated: true,
    };
  }
  return buildSection(entries);
};
