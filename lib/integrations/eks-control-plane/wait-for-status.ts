import type { Logger } from '@aws-lambda-powertools/logger';
import { EksServiceError } from '../../aws/eks-control-plane.ts';
import { type Clock, systemClock } from '../../clock.ts';
import { isTransientError } from '../../retry/transient.ts';
import type { WaitRule } from './operations.ts';

/** How a `.sync` wait ended when it did not throw. */
export type WaitOutcome =
  /** A success status was seen; `described` is that describe response. */
  | { kind: 'reached'; described: unknown; status: string }
  /** A failure status was seen; `described` is that describe response. */
  | { kind: 'failed'; described: unknown; status: string }
  /** Describe said ResourceNotFoundException and the rule counts that as done (deletes). */
  | { kind: 'gone' };

export interface WaitOptions {
  describe(signal: AbortSignal): Promise<unknown>;
  statusOf(described: unknown): string | undefined;
  rule: WaitRule;
  pollIntervalMs: number;
  /**
   * Consecutive describe calls that may fail with throttling or a 5xx (after the SDK's own
   * retries) before the wait gives up with that error: a long create should not fail because EKS
   * was briefly unavailable, but a control plane that stays down must not be polled forever.
   */
  maxConsecutivePollFailures: number;
  signal: AbortSignal;
  /** What the polling sleeps on. @default systemClock */
  clock?: Clock;
  logger: Logger;
  /** For log lines, e.g. `Cluster`. */
  resourceLabel: string;
  resourceName: string;
}

/**
 * Polls a describe call until the resource reaches a terminal status of `rule`, the way the
 * official EKS waiters decide, but every `pollIntervalMs` rather than Step Functions' once a
 * minute. Ends with the abort reason (a `TaskAbortedError`) as soon as `signal` aborts.
 */
export async function waitForTerminalStatus(options: WaitOptions): Promise<WaitOutcome> {
  const { rule, signal } = options;
  const clock = options.clock ?? systemClock;
  let consecutiveFailures = 0;
  let lastStatus: string | undefined;
  for (;;) {
    await clock.sleep(options.pollIntervalMs, signal);
    // The task wants the abort reason itself (a TaskAbortedError).
    signal.throwIfAborted();
    let described: unknown;
    try {
      described = await options.describe(signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof EksServiceError) {
        if (error.exceptionName === 'ResourceNotFoundException' && rule.succeedsWhenNotFound) {
          return { kind: 'gone' };
        }
        consecutiveFailures += 1;
        if (isTransientError(error) && consecutiveFailures < options.maxConsecutivePollFailures) {
          options.logger.warn('EKS describe failed while waiting, will poll again', {
            resource: options.resourceLabel,
            name: options.resourceName,
            exceptionName: error.exceptionName,
            consecutiveFailures,
          });
          continue;
        }
      }
      throw error;
    }
    consecutiveFailures = 0;
    const status = options.statusOf(described) ?? 'UNKNOWN';
    if (status !== lastStatus) {
      options.logger.debug('EKS resource status', {
        resource: options.resourceLabel,
        name: options.resourceName,
        status,
      });
      lastStatus = status;
    }
    if (rule.successStatuses.includes(status)) return { kind: 'reached', described, status };
    if (rule.failureStatuses.includes(status)) return { kind: 'failed', described, status };
  }
}
