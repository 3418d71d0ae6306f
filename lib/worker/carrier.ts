/**
 * The carrier: where `.sync` waits live once they are durable. A waiting task is a message in the
 * hand-off queue (parked by the worker that created its Job, or handed back by one that stopped);
 * the carrier that received it holds a lease on it (its visibility timeout) and carries the wait
 * on through the task runner. Leases are renewed together, ten a call, every half lease. If the
 * carrier dies its leases run out and another carrier receives the messages; if it stops it hands
 * every wait back at once. So a rollout, a kill or the end of a Lambda invocation fails nothing,
 * and a carrier holds as many waits as `maxCarriedTasks` (memory) allows, not a batch of ten.
 *
 * Anchors: Temporal's activity heartbeat timeout (the task moves to another worker), Kubernetes
 * `Lease` objects (a holder renews, a successor takes over after the lease duration).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Integration } from '../integrations/types.ts';
import { computeBackoffDelayMs } from '../retry/backoff.ts';
import { type CarriedTask, type CarryResult, carryMessage } from './carried-task.ts';
import type { Clock, LeasedMessage, LeaseQueue } from './ports.ts';
import { readErrorName } from './sfn-errors.ts';
import type { TaskRunnerEnvironment } from './task-runner.ts';

export interface CarrierOptions {
  readonly queue: LeaseQueue;
  readonly integrations: readonly Integration[];
  /** The task runner's environment; each carried task gets its own stop signal and hand-off. */
  readonly environment: TaskRunnerEnvironment;
  /** Seconds a lease lasts without renewal (EKS_WORKER_LEASE_SECONDS). */
  readonly leaseSeconds: number;
  /**
   * Time between renewals: half a lease, so one failed renewal still leaves half a lease for the
   * next. Tests on a queue with scaled seconds scale it too. @default leaseSeconds * 500
   */
  readonly renewIntervalMs?: number;
  /** The most messages held at once (EKS_WORKER_MAX_CARRIED_TASKS); 0 receives none. */
  readonly maxCarriedTasks: number;
  /** Whether it receives messages from the queue itself (besides those given to `carry`). */
  readonly receive: boolean;
  /**
   * No receive starts after this time (clock ms), and none waits past it: a Lambda invocation
   * must have its receives back before it hands its waits back. @default never
   */
  readonly receiveUntilMs?: number;
  /** Stop once nothing is carried and a receive came back empty (a Lambda invocation). */
  readonly endWhenIdle: boolean;
  /** Queue an answer still undelivered at a stop (Lambda) instead of retrying it (a process). */
  readonly carryAnswers: boolean;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
}

export interface Carrier {
  /**
   * Carries messages received elsewhere (the Lambda event source's records); their leases are
   * shortened to `leaseSeconds` at once, so a crash returns them within a lease. One promise per
   * message, resolving when it has been dealt with.
   */
  carry(messages: readonly LeasedMessage[]): Promise<CarryResult>[];
  /** Stops receiving and hands every carried wait back at once; resolves once all are settled. */
  stop(): Promise<void>;
  /** Resolves when the carrier has stopped (`stop`, or idle with `endWhenIdle`) and settled all. */
  readonly stopped: Promise<void>;
  /** Messages held now. */
  readonly carriedCount: number;
}

/** ReceiveMessage's largest batch. */
const maxReceiveBatch = 10;
/**
 * A receive in flight is never aborted (its messages would stay leased to nobody for a lease), so
 * a stopping carrier waits for it: 10 s rather than SQS's longest 20 s keeps a rollout quick, for
 * about 263,000 empty receives a month per idle carrier ($0.11).
 */
const maxReceiveWaitSeconds = 10;
const idleReceiveWaitSeconds = 1;
/** Receives running at once while batches come back full (a fan-out being parked). */
const maxReceivers = 4;
const receiveBackoff = { baseDelayMs: 1_000, maxDelayMs: 20_000 };

export const startCarrier = (options: CarrierOptions): Carrier => {
  const { queue, logger, clock } = options;
  const held = new Map<string, CarriedTask>();
  const stopController = new AbortController();
  /** Ends the lease renewals once the carrier has stopped and nothing is held. */
  const renewController = new AbortController();
  let receivers = 0;
  let idle = false;
  /** Receivers waiting for room, woken when a message settles or the carrier stops. */
  const roomWaiters = new Set<() => void>();
  const wakeReceivers = (): void => {
    for (const wake of roomWaiters) wake();
    roomWaiters.clear();
  };
  const stopping = (): boolean => stopController.signal.aborted;

  const context = {
    queue,
    integrations: options.integrations,
    environment: options.environment,
    carryAnswers: options.carryAnswers,
    logger,
  };

  const hold = (message: LeasedMessage): Promise<CarryResult> => {
    const carried = carryMessage(message, context);
    held.set(message.receiptHandle, carried);
    if (stopping()) carried.stop();
    return carried.done.finally(() => {
      held.delete(message.receiptHandle);
      wakeReceivers();
    });
  };

  /**
   * Renews every lease still needed; a lease the queue says is gone ends that carrying. Resolves
   * with the tasks whose renewal failed for a reason that may pass (throttling, a timeout).
   */
  const renew = async (tasks: readonly CarriedTask[]): Promise<CarriedTask[]> => {
    const live = tasks.filter((task) => !task.settled && !task.leaseLost);
    if (live.length === 0) return [];
    try {
      const failures = await queue.changeVisibilities(
        live.map((task) => ({
          receiptHandle: task.message.receiptHandle,
          visibilitySeconds: options.leaseSeconds,
        })),
      );
      for (const failure of failures) {
        if (failure.lost) held.get(failure.receiptHandle)?.loseLease();
      }
      const kept = failures.filter((failure) => !failure.lost);
      if (kept.length > 0) {
        logger.warn('Renewing some leases failed; trying them again shortly', {
          failed: kept.length,
          errorName: kept[0]?.errorName,
        });
      }
      return kept.flatMap((failure) => held.get(failure.receiptHandle) ?? []);
    } catch (error) {
      logger.warn('Renewing leases failed; trying them again shortly', {
        leases: live.length,
        errorName: readErrorName(error),
        errorMessage: error instanceof Error ? error.message : String(error),
      });
      return live;
    }
  };

  /**
   * Every half lease, renews all leases; a renewal that failed is tried again within the half
   * lease left (after an eighth of the interval, doubling up to half of it: about 2, 4, 7.5 s at
   * the defaults), so one failed call under load does not let a lease run out and hand a healthy
   * wait to another carrier.
   */
  const renewLoop = async (): Promise<void> => {
    const intervalMs = options.renewIntervalMs ?? options.leaseSeconds * 500;
    const renewRetryBackoff = { baseDelayMs: intervalMs / 8, maxDelayMs: intervalMs / 2 };
    const { signal } = renewController;
    while (!signal.aborted) {
      const roundStartMs = clock.now();
      await clock.sleep(intervalMs, signal);
      if (signal.aborted || held.size === 0) continue;
      let failed = await renew([...held.values()]);
      for (let attempt = 0; failed.length > 0 && !signal.aborted; attempt += 1) {
        const retryInMs = computeBackoffDelayMs(attempt, renewRetryBackoff, options.random);
        if (clock.now() + retryInMs - roundStartMs >= 2 * intervalMs) break;
        await clock.sleep(retryInMs, signal);
        failed = await renew(failed);
      }
    }
  };

  const releaseAll = async (messages: readonly LeasedMessage[]): Promise<void> => {
    try {
      await queue.changeVisibilities(
        messages.map((message) => ({ receiptHandle: message.receiptHandle, visibilitySeconds: 0 })),
      );
    } catch (error) {
      logger.warn('Releasing waits received while stopping failed; they return after a lease', {
        messages: messages.length,
        errorName: readErrorName(error),
      });
    }
  };

  const receiveWaitSeconds = (): number => {
    // Carrying nothing, an invocation that ends when idle looks briefly: it is billed by the
    // second, and an empty queue then means it is done.
    const longest =
      options.endWhenIdle && held.size === 0 ? idleReceiveWaitSeconds : maxReceiveWaitSeconds;
    if (options.receiveUntilMs === undefined) return longest;
    const leftSeconds = Math.floor((options.receiveUntilMs - clock.now()) / 1000);
    return Math.max(0, Math.min(longest, leftSeconds));
  };
  const mayReceive = (): boolean =>
    !stopping() && (options.receiveUntilMs === undefined || clock.now() < options.receiveUntilMs);

  /** One receiver; the first one lives as long as the carrier, extras while batches are full. */
  const receiveLoop = async (extra: boolean): Promise<void> => {
    receivers += 1;
    let failures = 0;
    try {
      while (mayReceive()) {
        const room = options.maxCarriedTasks - held.size;
        if (room <= 0) {
          if (extra) return;
          await new Promise<void>((resolve) => roomWaiters.add(resolve));
          continue;
        }
        let messages: LeasedMessage[];
        try {
          messages = await queue.receive({
            maxMessages: Math.min(maxReceiveBatch, room),
            waitSeconds: receiveWaitSeconds(),
            leaseSeconds: options.leaseSeconds,
          });
          failures = 0;
        } catch (error) {
          failures += 1;
          logger.warn('Receiving from the hand-off queue failed; backing off', {
            errorName: readErrorName(error),
            errorMessage: error instanceof Error ? error.message : String(error),
          });
          await clock.sleep(
            computeBackoffDelayMs(failures - 1, receiveBackoff, options.random),
            stopController.signal,
          );
          continue;
        }
        if (stopping()) {
          // A receive in flight at the stop can bring back the very waits just handed back:
          // let them go at once, for a carrier that is not stopping.
          await releaseAll(messages);
          return;
        }
        for (const message of messages) void hold(message);
        if (messages.length === maxReceiveBatch && receivers < maxReceivers) {
          void receiveLoop(true);
        }
        if (messages.length === 0 && options.endWhenIdle && held.size === 0) {
          idle = true;
          return;
        }
        if (extra && messages.length < maxReceiveBatch) return;
      }
    } finally {
      receivers -= 1;
    }
  };

  const stop = async (): Promise<void> => {
    if (!stopping()) {
      logger.info('Carrier stopping; handing carried waits back to the queue', {
        carried: held.size,
      });
      stopController.abort();
      wakeReceivers();
      for (const carried of held.values()) carried.stop();
    }
    await stopped;
  };

  const firstReceiver =
    options.receive && options.maxCarriedTasks > 0 ? receiveLoop(false) : Promise.resolve();
  const renewing = renewLoop();
  const stopped = (async () => {
    await firstReceiver;
    // Idle with endWhenIdle: nothing left to carry, and the given messages have settled.
    if (!stopping() && idle) stopController.abort();
    if (!stopping()) {
      await new Promise((resolve) =>
        stopController.signal.addEventListener('abort', resolve, { once: true }),
      );
    }
    while (held.size > 0) await Promise.all([...held.values()].map((task) => task.done));
    renewController.abort();
    await renewing;
  })();

  return {
    carry: (messages) => {
      const results = messages.map(hold);
      // Event-source records come leased for the queue's whole visibility timeout (longer than
      // the function's): shorten that to a lease so a crashed invocation loses only a lease.
      void renew(messages.flatMap((message) => held.get(message.receiptHandle) ?? []));
      return results;
    },
    stop,
    stopped,
    get carriedCount() {
      return held.size;
    },
  };
};
