/**
 * Task metrics as CloudWatch embedded metric format (EMF) through Powertools Metrics. The host's
 * middleware flushes them once per invocation.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { WorkerConfig } from '../config.ts';
import { serviceName } from '../logger.ts';
import type { TaskObserver } from '../worker/ports.ts';

/** The CloudWatch namespace of every metric. */
export const metricsNamespace = 'EksActivityWorker';

/**
 * The worker's metrics: every data point carries `service` and, when configured, `stage`, so the
 * stages of one account and Region stay apart (alarms in serverless.yml select both).
 */
export const makeWorkerMetrics = (config: Pick<WorkerConfig, 'stage'>, logger: Logger): Metrics =>
  new Metrics({
    namespace: metricsNamespace,
    serviceName,
    // Powertools' own warnings (e.g. an invocation with no metrics) go through our logger.
    logger,
    ...(config.stage === undefined ? {} : { defaultDimensions: { stage: config.stage } }),
  });

/** Metric names, stable: dashboards and alarms depend on them. */
export const MetricName = {
  TasksStarted: 'TasksStarted',
  TasksResumed: 'TasksResumed',
  TasksSucceeded: 'TasksSucceeded',
  TasksFailed: 'TasksFailed',
  TasksAbandoned: 'TasksAbandoned',
  HandOffs: 'HandOffs',
  /** `.sync` waits sent to the hand-off queue once their Job or operation existed. */
  TasksParked: 'TasksParked',
  /**
   * Waits one resumer invocation carries, reported each minute: summed over a minute, the stage's
   * carried waits, to compare with its capacity (an alarm fires before it is reached).
   */
  CarriedTasks: 'CarriedTasks',
  HeartbeatFailures: 'HeartbeatFailures',
  TimeToCompletion: 'TimeToCompletion',
  /** Answers queued for the resumer because Step Functions kept refusing them (throttling, 5xx). */
  AnswersHandedOff: 'AnswersHandedOff',
  /** Handed-off answers the resumer delivered (or found their task gone). */
  HandedOffAnswersDelivered: 'HandedOffAnswersDelivered',
  /** Answers never delivered: refused permanently or retries ran out; the execution waits. */
  AnswersLost: 'AnswersLost',
} as const;

/**
 * An observer counting task events. Failures are also counted in a single metric with an
 * `ErrorName` dimension (its own EMF line), so the invocation's other metrics keep their plain
 * dimension set while alarms can still select `EKS.JobFailed` and the like.
 */
export const makeMetricsObserver = (metrics: Metrics): TaskObserver => ({
  taskStarted: ({ resumed }) => {
    metrics.addMetric(
      resumed ? MetricName.TasksResumed : MetricName.TasksStarted,
      MetricUnit.Count,
      1,
    );
  },
  taskEnded: (event) => {
    switch (event.kind) {
      case 'success':
        metrics.addMetric(MetricName.TasksSucceeded, MetricUnit.Count, 1);
        break;
      case 'failure': {
        metrics.addMetric(MetricName.TasksFailed, MetricUnit.Count, 1);
        const single = metrics.singleMetric();
        single.addDimension('ErrorName', event.errorName ?? 'unknown');
        single.addMetric(MetricName.TasksFailed, MetricUnit.Count, 1);
        break;
      }
      case 'abandoned':
        metrics.addMetric(MetricName.TasksAbandoned, MetricUnit.Count, 1);
        break;
      case 'handed-off':
        metrics.addMetric(MetricName.HandOffs, MetricUnit.Count, 1);
        return;
      case 'parked':
        metrics.addMetric(MetricName.TasksParked, MetricUnit.Count, 1);
        return;
    }
    // From first receipt to the answer, across hand-offs: what a state machine waits.
    metrics.addMetric(
      MetricName.TimeToCompletion,
      MetricUnit.Milliseconds,
      event.sinceFirstReceivedMs,
    );
  },
  heartbeatFailed: () => {
    metrics.addMetric(MetricName.HeartbeatFailures, MetricUnit.Count, 1);
  },
  answerEnded: ({ result, handedOffAnswer }) => {
    if (result === 'gave-up') metrics.addMetric(MetricName.AnswersLost, MetricUnit.Count, 1);
    else if (result === 'handed-off') {
      metrics.addMetric(MetricName.AnswersHandedOff, MetricUnit.Count, 1);
    } else if (handedOffAnswer) {
      metrics.addMetric(MetricName.HandedOffAnswersDelivered, MetricUnit.Count, 1);
    }
  },
});

/**
 * Reports a resumer's carried waits and publishes at once: the middleware publishes only at the
 * end of an invocation, which for a carrier can be 15 minutes away.
 */
export const makeCarriedReporter =
  (metrics: Metrics) =>
  (carried: number): void => {
    metrics.addMetric(MetricName.CarriedTasks, MetricUnit.Count, carried);
    metrics.publishStoredMetrics();
  };
