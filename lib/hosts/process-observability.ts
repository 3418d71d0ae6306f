/**
 * Wires the process host's probes and metrics (EKS_WORKER_HTTP_PORT) around the worker: when the
 * port is not configured, nothing listens and the worker runs exactly as without it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerConfig } from '../config.ts';
import type { Carrier } from '../worker/carrier.ts';
import type { ActivityApi, TaskObserver } from '../worker/ports.ts';
import type { Worker } from '../worker/worker.ts';
import { makePollLoopHealth } from './process-health.ts';
import { startHttpEndpoint } from './process-http.ts';
import { makeProcessMetrics } from './process-metrics.ts';

/** What {@link runProcessWorker} gets from the observability layer. */
export interface ProcessObservability {
  readonly activityApi: ActivityApi;
  readonly observer?: TaskObserver;
  onStarted(worker: Worker, carrier?: Carrier): void;
  onStopping(): void;
  close(): Promise<void>;
}

/** Starts the listener when `config.httpPort` is set; otherwise passes `activityApi` through. */
export const startProcessObservability = async (
  config: WorkerConfig,
  activityApi: ActivityApi,
  logger: Logger,
): Promise<ProcessObservability> => {
  if (config.httpPort === undefined) {
    return { activityApi, onStarted: () => {}, onStopping: () => {}, close: async () => {} };
  }
  const health = makePollLoopHealth({
    activityApi,
    maxConcurrentTasks: config.maxConcurrentTasks,
  });
  const metrics = makeProcessMetrics();
  const endpoint = await startHttpEndpoint({
    port: config.httpPort,
    health: health.report,
    registry: metrics.registry,
  });
  logger.info('Health and metrics listening', {
    port: endpoint.port,
    paths: ['/healthz', '/readyz', '/metrics'],
  });
  return {
    activityApi: health.activityApi,
    observer: metrics.observer,
    onStarted: (worker, carrier) => {
      health.started(() => worker.busySlots);
      metrics.trackPollLoop({
        busySlots: () => worker.busySlots,
        pollsInFlight: () => health.pollsInFlight,
        carriedTasks: () => carrier?.carriedCount ?? 0,
      });
    },
    onStopping: health.stopping,
    close: endpoint.close,
  };
};
