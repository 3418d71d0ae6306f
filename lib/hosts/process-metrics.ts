/**
 * The process host's metrics in Prometheus text format (prom-client): the Lambda's EMF metrics
 * (lib/hosts/lambda-metrics.ts) under Prometheus' naming conventions, so a dashboard means the
 * same thing on either host. `TasksStarted` becomes `eks_activity_worker_tasks_started_total`;
 * EMF's `ErrorName` dimension becomes the `error_name` label; `TimeToCompletion` (milliseconds) is
 * a histogram in seconds, Prometheus' base unit. Node's own process metrics (resident memory, CPU,
 * event-loop lag) come along, and two gauges show the poll loop's state.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskObserver } from '../worker/ports.ts';
import { MetricName } from './lambda-metrics.ts';

/** The prefix of every worker metric (the EMF namespace `EksActivityWorker`, in snake case). */
export const prometheusPrefix = 'eks_activity_worker_';

/** `TasksStarted` -> `tasks_started`. */
const toSnakeCase = (name: string): string =>
  name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** The Prometheus counter for an EMF count metric. */
export const prometheusCounterName = (emfName: string): string =>
  `${prometheusPrefix}${toSnakeCase(emfName)}_total`;

/** The Prometheus histogram for the EMF `TimeToCompletion` metric. */
export const timeToCompletionName = `${prometheusPrefix}time_to_completion_seconds`;

const countMetrics = [
  [MetricName.TasksStarted, 'Tasks received from a poll and started.'],
  [MetricName.TasksResumed, 'Tasks taken over from the hand-off queue and resumed.'],
  [MetricName.TasksSucceeded, 'Tasks answered with SendTaskSuccess.'],
  [MetricName.TasksFailed, 'Tasks answered with SendTaskFailure, by error name.'],
  [MetricName.TasksAbandoned, 'Tasks Step Functions gave up on (execution stopped or timed out).'],
  [MetricName.HandOffs, 'Unfinished tasks handed off to the hand-off queue.'],
  [MetricName.TasksParked, '`.sync` waits parked in the hand-off queue once their Job existed.'],
  [MetricName.HeartbeatFailures, 'SendTaskHeartbeat calls that failed.'],
  [
    MetricName.AnswersHandedOff,
    'Answers queued for the resumer because Step Functions kept refusing them.',
  ],
  [
    MetricName.HandedOffAnswersDelivered,
    'Handed-off answers the resumer delivered (or found their task gone).',
  ],
  [MetricName.AnswersLost, 'Answers never delivered: the execution waits for its timeout.'],
] as const;

export interface ProcessMetrics {
  readonly registry: Registry;
  /** Counts task events; give it to the worker. */
  readonly observer: TaskObserver;
  /** Reports the poll loop's state as gauges, read at each scrape. */
  trackPollLoop(read: {
    busySlots(): number;
    pollsInFlight(): number;
    carriedTasks(): number;
  }): void;
}

/** Creates a registry of its own (never the global one) with every worker metric. */
export const makeProcessMetrics = (): ProcessMetrics => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counters = new Map(
    countMetrics.map(([emfName, help]) => [
      emfName,
      new Counter({
        name: prometheusCounterName(emfName),
        help: `${help} (EMF: ${emfName})`,
        labelNames: emfName === MetricName.TasksFailed ? ['error_name'] : [],
        registers: [registry],
      }),
    ]),
  );
  const count = (emfName: string, labels?: { error_name: string }) => {
    const counter = counters.get(emfName as (typeof countMetrics)[number][0]);
    if (labels) counter?.inc(labels);
    else counter?.inc();
  };
  const timeToCompletion = new Histogram({
    name: timeToCompletionName,
    help: `From first receipt to the answer, across hand-offs: what a state machine waits (EMF: ${MetricName.TimeToCompletion}).`,
    // From a quick eks:call to a Job that runs for hours.
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400],
    registers: [registry],
  });
  type PollLoop = { busySlots(): number; pollsInFlight(): number; carriedTasks(): number };
  let pollLoop: PollLoop | undefined;
  // Read at scrape time from the poll loop, 0 until it is tracked.
  const addPollLoopGauge = (name: string, help: string, read: (loop: PollLoop) => number) =>
    new Gauge({
      name: `${prometheusPrefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(pollLoop ? read(pollLoop) : 0);
      },
    });
  addPollLoopGauge(
    'busy_slots',
    'Concurrency slots in use: running tasks and long polls in flight.',
    (loop) => loop.busySlots(),
  );
  addPollLoopGauge('polls_in_flight', 'GetActivityTask long polls in flight.', (loop) =>
    loop.pollsInFlight(),
  );
  addPollLoopGauge(
    'carried_tasks',
    'Parked `.sync` waits this process carries from the hand-off queue (EKS_WORKER_MAX_CARRIED_TASKS at most).',
    (loop) => loop.carriedTasks(),
  );

  const observer: TaskObserver = {
    taskStarted: ({ resumed }) => {
      count(resumed ? MetricName.TasksResumed : MetricName.TasksStarted);
    },
    taskEnded: (event) => {
      switch (event.kind) {
        case 'success':
          count(MetricName.TasksSucceeded);
          break;
        case 'failure':
          count(MetricName.TasksFailed, { error_name: event.errorName ?? 'unknown' });
          break;
        case 'abandoned':
          count(MetricName.TasksAbandoned);
          break;
        case 'handed-off':
          count(MetricName.HandOffs);
          return;
        case 'parked':
          count(MetricName.TasksParked);
          return;
      }
      timeToCompletion.observe(event.sinceFirstReceivedMs / 1000);
    },
    heartbeatFailed: () => {
      count(MetricName.HeartbeatFailures);
    },
    // As the Lambda counts them (lambda-metrics.ts).
    answerEnded: ({ result, handedOffAnswer }) => {
      if (result === 'gave-up') count(MetricName.AnswersLost);
      else if (result === 'handed-off') count(MetricName.AnswersHandedOff);
      else if (handedOffAnswer) count(MetricName.HandedOffAnswersDelivered);
    },
  };

  return {
    registry,
    observer,
    trackPollLoop: (read) => {
      pollLoop = read;
    },
  };
};
