import type { Logger } from '@aws-lambda-powertools/logger';
import { ErrorName } from '../errors.ts';
import { type BackoffOptions, computeBackoffDelayMs } from '../retry/backoff.ts';
import { makeFailureOutcome, type TaskOutcome } from './outcome.ts';
import type { ActivityApi, Clock } from './ports.ts';
import { classifySfnError, readErrorName, SfnErrorKind } from './sfn-errors.ts';

/** Retry policy for SendTaskSuccess / SendTaskFailure. */
export interface AnswerRetryOptions extends BackoffOptions {
  /**
   * Stop retrying once this much time has passed since the first attempt. Long, because an answer
   * lost to a transient error leaves the execution waiting until its own timeout.
   */
  maxElapsedMs: number;
}

/** How delivering an answer ended. */
export type AnswerResult =
  | 'delivered'
  /** Step Functions said the task is gone (TaskTimedOut, TaskDoesNotExist, InvalidToken). */
  | 'task-gone'
  /** A permanent error, or retries ran out: the answer is lost (logged as an error). */
  | 'gave-up'
  /** Not delivered in time; the answer went to `handOff.handOffAnswer` to be delivered later. */
  | 'handed-off';

/**
 * Where an answer goes that cannot be delivered before the worker must stop: a Lambda invocation
 * is frozen at its end, and a retry still pending then is lost with the answer.
 */
export interface AnswerHandOffTarget {
  /** When it aborts, no further attempt starts (one in flight completes) and the answer goes. */
  readonly signal: AbortSignal;
  /**
   * Takes the answer over (e.g. queues it for the resumer). `false` or a throw: it is lost.
   * Receives the answer as last tried (a refused output has become a failure by then).
   */
  handOffAnswer(outcome: TaskOutcome & { kind: 'success' | 'failure' }): Promise<boolean>;
}

/** Dependencies of {@link sendAnswer}. */
export interface AnswerOptions {
  readonly activityApi: ActivityApi;
  readonly taskToken: string;
  readonly retry: AnswerRetryOptions;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /**
   * Without it, transient errors are retried until `retry.maxElapsedMs`. With it, retrying ends
   * at that limit or when its signal aborts, whichever is first, and the answer is handed off
   * instead of given up. At least one attempt is always made.
   */
  readonly handOff?: AnswerHandOffTarget;
}

const sendOnce = async (
  api: ActivityApi,
  taskToken: string,
  outcome: TaskOutcome & { kind: 'success' | 'failure' },
): Promise<void> => {
  if (outcome.kind === 'success') {
    await api.sendTaskSuccess({ taskToken, output: outcome.output });
  } else {
    await api.sendTaskFailure({ taskToken, error: outcome.error, cause: outcome.cause });
  }
};

/**
 * Delivers a success or failure, retrying throttling, 5xx and network errors with exponential
 * backoff and full jitter. Deliberately not abortable: a shutdown must not cost an answer that is
 * ready. `InvalidOutput` (which `outcome.ts` should make impossible) turns the answer into an
 * `EKS.WorkerError` failure so the task still ends instead of hanging.
 */
export const sendAnswer = async (
  outcome: TaskOutcome & { kind: 'success' | 'failure' },
  options: AnswerOptions,
): Promise<AnswerResult> => {
  const { logger } = options;
  const startedAtMs = options.clock.now();
  let current = outcome;
  let attempt = 0;
  for (;;) {
    try {
      await sendOnce(options.activityApi, options.taskToken, current);
      logger.info('Task answered', {
        answer: current.kind,
        ...(current.kind === 'failure' ? { errorName: current.error } : {}),
        attempts: attempt + 1,
      });
      return 'delivered';
    } catch (error) {
      const errorName = readErrorName(error);
      const kind = classifySfnError(error);
      if (kind === SfnErrorKind.TaskGone) {
        logger.warn('Step Functions no longer wants the task; answer dropped', {
          answer: current.kind,
          sfnError: errorName,
        });
        return 'task-gone';
      }
      if (kind === SfnErrorKind.InvalidOutput && current.kind === 'success') {
        logger.error('Step Functions refused the task output; failing the task instead', {
          outputChars: current.output.length,
        });
        const failure = makeFailureOutcome(ErrorName.WorkerError, {
          message: 'Step Functions refused the task output (InvalidOutput).',
        });
        if (failure.kind === 'failure') current = failure;
        continue;
      }
      if (kind !== SfnErrorKind.Transient) {
        logger.error('Task answer refused permanently; the execution will wait for its timeout', {
          answer: current.kind,
          errorName,
        });
        return 'gave-up';
      }
      const delayMs = computeBackoffDelayMs(attempt, options.retry, options.random);
      const elapsedMs = options.clock.now() - startedAtMs;
      const outOfTime = elapsedMs + delayMs > options.retry.maxElapsedMs;
      if (options.handOff !== undefined && (outOfTime || options.handOff.signal.aborted)) {
        return handOffUndelivered(current, options.handOff, logger, {
          errorName,
          attempts: attempt + 1,
          elapsedMs,
        });
      }
      if (outOfTime) {
        logger.error('Task answer not delivered after retrying; giving up', {
          answer: current.kind,
          errorName,
          attempts: attempt + 1,
          elapsedMs,
        });
        return 'gave-up';
      }
      logger.warn('Task answer failed; retrying', {
        answer: current.kind,
        errorName,
        attempt: attempt + 1,
        retryInMs: delayMs,
      });
      // Woken early when the hand-off signal aborts: the next loop makes one last attempt.
      await options.clock.sleep(delayMs, options.handOff?.signal);
      attempt += 1;
    }
  }
};

const handOffUndelivered = async (
  outcome: TaskOutcome & { kind: 'success' | 'failure' },
  target: AnswerHandOffTarget,
  logger: Logger,
  details: { errorName: string; attempts: number; elapsedMs: number },
): Promise<AnswerResult> => {
  try {
    if (await target.handOffAnswer(outcome)) {
      logger.warn('Task answer not delivered in time; handed off for later delivery', {
        answer: outcome.kind,
        ...details,
      });
      return 'handed-off';
    }
    logger.error('Task answer not delivered and the hand-off declined it; the answer is lost', {
      answer: outcome.kind,
      ...details,
    });
  } catch (error) {
    logger.error('Task answer not delivered and handing it off failed; the answer is lost', {
      answer: outcome.kind,
      ...details,
      handOffErrorName: readErrorName(error),
    });
  }
  return 'gave-up';
};
