/**
 * How the worker reacts to an error from the Step Functions activity API. The port contract
 * (`ports.ts`) says errors carry the service's error code as `name`, an HTTP status in
 * `$metadata.httpStatusCode` when one was received, and a Node `code` for network failures.
 */

/** The class of an activity-API error, which decides between give up, retry and fall back. */
export const SfnErrorKind = {
  /** The execution no longer wants this task (stopped, timed out, failed elsewhere). Final. */
  TaskGone: 'task-gone',
  /** SendTaskSuccess refused the output. Answer with a failure instead so the task cannot hang. */
  InvalidOutput: 'invalid-output',
  /** Throttling, 5xx, network: the same call may succeed later. */
  Transient: 'transient',
  /** Any other 4xx (access denied, validation, unknown activity): repeating it will not help. */
  Permanent: 'permanent',
} as const;
export type SfnErrorKind = (typeof SfnErrorKind)[keyof typeof SfnErrorKind];

/** Answers that mean nobody is waiting for the task's result any more (contract §5). */
const taskGoneNames: ReadonlySet<string> = new Set([
  'TaskTimedOut',
  'TaskDoesNotExist',
  'InvalidToken',
]);

/** Errors without an HTTP status: the request never got an answer, so trying again is safe. */
const networkCodes: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The service error code (or JS error name) of an error, for logs and decisions. */
export const readErrorName = (error: unknown): string => {
  const name = (error as ErrorShape | null)?.name;
  return typeof name === 'string' && name.length > 0 ? name : 'UnknownError';
};

/** Classifies an error thrown by an {@link ActivityApi} call. */
export const classifySfnError = (error: unknown): SfnErrorKind => {
  const shape = (error ?? {}) as ErrorShape;
  const name = readErrorName(error);
  if (taskGoneNames.has(name)) return SfnErrorKind.TaskGone;
  if (name === 'InvalidOutput') return SfnErrorKind.InvalidOutput;
  // KmsThrottlingException, ThrottlingException, TooManyRequestsException, RequestLimitExceeded...
  if (/throttl|toomanyrequests|limitexceeded/i.test(name)) return SfnErrorKind.Transient;
  const status = shape.$metadata?.httpStatusCode;
  if (typeof status === 'number') {
    return status >= 500 || status === 429 ? SfnErrorKind.Transient : SfnErrorKind.Permanent;
  }
  // No HTTP status: the call failed before an answer arrived (socket, DNS, client timeout).
  if (typeof shape.code === 'string' && networkCodes.has(shape.code)) return SfnErrorKind.Transient;
  if (name === 'TimeoutError' || name === 'AbortError') return SfnErrorKind.Transient;
  // Unknown shapes are treated as transient: retrying a bounded number of times costs little,
  // giving up on an answer loses a task.
  return SfnErrorKind.Transient;
};
