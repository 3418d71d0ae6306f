/**
 * An SQS event source mapping's settings, checked as CreateEventSourceMapping checks them where it
 * matters to the simulation: the batch size and window ranges, the window a batch over ten needs,
 * maximum concurrency's range, and a queue visibility timeout at least the function's timeout (a
 * shorter one would let a message be processed twice at once, and Lambda refuses it).
 */
import { InvalidParameterValueException } from './lambda-errors.ts';

/** The mapping's settings, named after CreateEventSourceMapping's parameters. */
export interface SqsEventSourceConfig {
  readonly queueUrl: string;
  /** 1..10,000; over 10 needs a batching window. @default 10 */
  readonly batchSize?: number;
  /** 0..300 seconds of gathering before invoking with a partial batch. @default 0 */
  readonly maximumBatchingWindowSeconds?: number;
  /** 2..1,000 concurrent invocations. @default unset: the mapping's own ceiling of 1,000 */
  readonly maximumConcurrency?: number;
  /** `['ReportBatchItemFailures']` to honour `batchItemFailures` answers. @default [] */
  readonly functionResponseTypes?: readonly 'ReportBatchItemFailures'[];
  /**
   * The length of one second in milliseconds for everything the mapping counts in seconds (the
   * batching window, the 20 s long poll, the queue's visibility timeout it checks, the scaling
   * rate). Set it to the local SQS's `secondMs` so both count the same seconds. @default 1000
   */
  readonly sqsSecondMs?: number;
  /** How fast pollers are added while batches come full (Lambda: 5 to start, +300 a minute). */
  readonly scaling?: { readonly initialPollers?: number; readonly pollersAddedPerMinute?: number };
}

/** The settings with defaults applied, durations in real milliseconds. */
export interface ResolvedEventSourceConfig {
  readonly queueUrl: string;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly secondMs: number;
  /** The most pollers (each runs one invocation at a time): maximumConcurrency or 1,000. */
  readonly maxPollers: number;
  readonly initialPollers: number;
  readonly pollersAddedPerSecond: number;
  readonly reportBatchItemFailures: boolean;
}

// The most batches one mapping processes at once, with or without maximumConcurrency.
const mappingConcurrencyCeiling = 1000;

const checkInteger = (name: string, value: number, min: number, max: number): void => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidParameterValueException(
      `${name} must be an integer in ${min}..${max}: ${value}`,
    );
  }
};

/** Checks the settings that need no queue; throws InvalidParameterValueException. */
export const resolveEventSourceConfig = (
  config: SqsEventSourceConfig,
): ResolvedEventSourceConfig => {
  const batchSize = config.batchSize ?? 10;
  checkInteger('BatchSize', batchSize, 1, 10_000);
  const windowSeconds = config.maximumBatchingWindowSeconds ?? 0;
  checkInteger('MaximumBatchingWindowInSeconds', windowSeconds, 0, 300);
  if (batchSize > 10 && windowSeconds < 1) {
    throw new InvalidParameterValueException(
      'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10',
    );
  }
  if (config.maximumConcurrency !== undefined) {
    checkInteger('MaximumConcurrency', config.maximumConcurrency, 2, 1000);
  }
  for (const type of config.functionResponseTypes ?? []) {
    if (type !== 'ReportBatchItemFailures') {
      throw new InvalidParameterValueException(`Unknown FunctionResponseTypes value: ${type}`);
    }
  }
  const secondMs = config.sqsSecondMs ?? 1000;
  if (!(secondMs > 0)) throw new InvalidParameterValueException(`sqsSecondMs must be > 0`);
  const maxPollers = config.maximumConcurrency ?? mappingConcurrencyCeiling;
  return {
    queueUrl: config.queueUrl,
    batchSize,
    batchingWindowMs: windowSeconds * secondMs,
    secondMs,
    maxPollers,
    initialPollers: Math.min(maxPollers, config.scaling?.initialPollers ?? 5),
    pollersAddedPerSecond: (config.scaling?.pollersAddedPerMinute ?? 300) / 60,
    reportBatchItemFailures: (config.functionResponseTypes ?? []).includes(
      'ReportBatchItemFailures',
    ),
  };
};

/** Seconds as Lambda prints them: whole when whole. */
const formatSeconds = (seconds: number): string =>
  Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3).replace(/0+$/, '');

/**
 * Checks the queue (its GetQueueAttributes answer) against the function: a standard queue whose
 * visibility timeout is at least the function's timeout. Both are compared in real milliseconds,
 * the queue's seconds scaled by `secondMs`, and reported in (scaled) seconds as Lambda words it.
 */
export const checkQueueForFunction = (
  queueAttributes: Readonly<Record<string, string>>,
  functionTimeoutMs: number,
  secondMs: number,
): void => {
  if (queueAttributes.FifoQueue === 'true') {
    throw new InvalidParameterValueException(
      'The local SQS event source serves standard queues only; FIFO ordering is not simulated',
    );
  }
  const visibilitySeconds = Number(queueAttributes.VisibilityTimeout);
  if (visibilitySeconds * secondMs < functionTimeoutMs) {
    throw new InvalidParameterValueException(
      `Queue visibility timeout: ${formatSeconds(visibilitySeconds)} seconds is less than ` +
        `Function timeout: ${formatSeconds(functionTimeoutMs / secondMs)} seconds`,
    );
  }
};
