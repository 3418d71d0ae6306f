/**
 * How the worker reacts to an error from the Step Functions activity API. The port contract
 * (`ports.ts`) says errors carry the service's error code as `name`, an HTTP status in
 * `$metadata.httpStatusCode` when one was received, and a Node `code` for network failures.
 */
import { isTransientError } from '../retry/transient.ts';

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

interface ErrorShape {
  name?: unknown;
}

/** The service error code (or JS error name) of an error, for logs and decisions. */
export const readErrorName = (error: unknown): string => {
  const name = (error as ErrorShape | null)?.name;
  return typeof name === 'string' && name.length > 0 ? name : 'UnknownError';
};

/** Classifies an error thrown by an {@link ActivityApi} call. */
export const classifySfnError = (error: unknown): SfnErrorKind => {
  const name = readErrorName(error);
  if (taskGoneNames.has(name)) return SfnErrorKind.TaskGone;
  if (name === 'InvalidOutput') return SfnErrorKind.InvalidOutput;
  // Throttling, 5xx and no answer at all may pass; other 4xx will not (lib/retry/transient.ts).
  return isTransientError(error) ? SfnErrorKind.Transient : SfnErrorKind.Permanent;
};
