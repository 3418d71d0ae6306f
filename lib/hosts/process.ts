/**
 * The long-lived process host (container, ECS task, Kubernetes Deployment): polls until SIGTERM or
 * SIGINT, then stops gracefully within `shutdownGraceMs`. With a hand-off queue it also carries
 * `.sync` waits from the queue (any replica's, its own included), and hands them back at once on
 * SIGTERM, so a rollout or a kill fails no task.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerConfig } from '../config.ts';
import type { Integration } from '../integrations/types.ts';
import { type Carrier, startCarrier } from '../worker/carrier.ts';
import {
  type ActivityApi,
  type Clock,
  type HandOff,
  type LeaseQueue,
  systemClock,
  type TaskObserver,
} from '../worker/ports.ts';
import {
  makeTaskRunnerEnvironment,
  startWorker,
  type Worker,
  type WorkerOptions,
} from '../worker/worker.ts';
import { makeWorkerOptions } from './compose.ts';

/** The signals a process host reacts to (`process` itself in production). */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/** Everything {@link runProcessWorker} needs, in one object so tests can replace any part. */
export interface ProcessWorkerOptions {
  readonly config: WorkerConfig;
  readonly integrations: readonly Integration[];
  readonly activityApi: ActivityApi;
  readonly logger: Logger;
  /** Where waits are parked and interrupted tasks go; comes with `handOffQueue`. */
  readonly handOff?: HandOff;
  /** The queue waits are carried from (`config.maxCarriedTasks` at once); none: no carrier. */
  readonly handOffQueue?: LeaseQueue;
  /** Told about every task's start and end (the Prometheus metrics). */
  readonly observer?: TaskObserver;
  readonly clock?: Clock;
  /** @default process */
  readonly signals?: SignalSource;
  /** Fine-tuning of the loop (backoffs, abortSettleMs) beyond what the configuration holds. */
  readonly workerOptions?: Partial<WorkerOptions>;
  /** Called once the worker is polling, e.g. to report readiness. */
  readonly onStarted?: (worker: Worker, carrier?: Carrier) => void;
  /** Called when the first stop signal arrives (readiness ends there). */
  readonly onStopping?: () => void;
}

const stopSignals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Runs the worker until SIGTERM or SIGINT, then stops it gracefully: no new polls, polls in flight
 * finish, running tasks get `config.shutdownGraceMs`, then are handed off or failed with
 * `EKS.WorkerInterrupted`. A second signal cuts the grace short (an operator pressing Ctrl-C
 * twice). Resolves when every task received has been answered or handed off.
 * Throws a WorkerConfigurationError at start if an activity matches no integration.
 */
export const runProcessWorker = async (options: ProcessWorkerOptions): Promise<void> => {
  const { config, logger } = options;
  const signals = options.signals ?? process;
  const workerOptions = { ...makeWorkerOptions(config, 'process'), ...options.workerOptions };
  const dependencies = {
    activityApi: options.activityApi,
    logger,
    clock: options.clock ?? systemClock,
    random: Math.random,
    ...(options.handOff ? { handOff: options.handOff } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  };
  const worker = startWorker(workerOptions, {
    ...dependencies,
    integrations: options.integrations,
  });
  const carrier =
    options.handOffQueue === undefined
      ? undefined
      : startCarrier({
          queue: options.handOffQueue,
          integrations: options.integrations,
          // The carrier gives each task its own stop signal and hand-off.
          environment: makeTaskRunnerEnvironment(
            workerOptions,
            dependencies,
            new AbortController().signal,
          ),
          leaseSeconds: config.leaseSeconds,
          maxCarriedTasks: config.maxCarriedTasks,
          receive: true,
          endWhenIdle: false,
          carryAnswers: false,
          logger: logger.createChild({ persistentKeys: { component: 'carrier' } }),
          clock: dependencies.clock,
          random: dependencies.random,
        });

  let signalsSeen = 0;
  const onSignal = (signal: NodeJS.Signals) => (): void => {
    signalsSeen += 1;
    const graceMs = signalsSeen === 1 ? config.shutdownGraceMs : 0;
    logger.info('Stop signal received', { signal, graceMs });
    if (signalsSeen === 1) options.onStopping?.();
    // Listen again: `once` removed us, and a second signal must shorten the grace rather than
    // fall through to Node's default handler, which would kill the process mid-answer.
    signals.once(signal, listeners.get(signal) ?? (() => {}));
    // Carried waits go back to the queue at once, for the other replicas; tasks of this worker's
    // own polls get the grace (and park there once their Job exists).
    void carrier?.stop();
    void worker.stop({ graceMs });
  };
  const listeners = new Map(stopSignals.map((signal) => [signal, onSignal(signal)] as const));
  for (const [signal, listener] of listeners) signals.once(signal, listener);
  options.onStarted?.(worker, carrier);

  try {
    await Promise.all([worker.stopped, carrier?.stopped]);
  } finally {
    for (const [signal, listener] of listeners) signals.off(signal, listener);
  }
};
