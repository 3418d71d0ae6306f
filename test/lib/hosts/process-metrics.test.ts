import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricName } from '../../../lib/hosts/lambda-metrics.ts';
import {
  makeProcessMetrics,
  prometheusCounterName,
  timeToCompletionName,
} from '../../../lib/hosts/process-metrics.ts';

const ended = (
  kind: 'success' | 'failure' | 'abandoned' | 'parked' | 'handed-off',
  errorName?: string,
) => ({
  activityName: 'p-eks-call',
  integration: 'eks:call',
  kind,
  ...(errorName === undefined ? {} : { errorName }),
  sinceFirstReceivedMs: 2_500,
  resumed: false,
});

/** The value of one sample line (`name{labels} value`) in the exposition text. */
const sample = (text: string, line: string): number | undefined => {
  const match = text.split('\n').find((l) => l.startsWith(`${line} `));
  return match === undefined ? undefined : Number(match.slice(line.length + 1));
};

describe('Prometheus metrics of the process host', () => {
  test('every EMF count metric of the Lambda has a Prometheus counter of the same meaning', async () => {
    const { registry } = makeProcessMetrics();
    const text = await registry.metrics();
    for (const name of Object.values(MetricName)) {
      // A histogram, and a gauge per process (eks_activity_worker_carried_tasks), not counters.
      if (name === MetricName.TimeToCompletion || name === MetricName.CarriedTasks) continue;
      assert.match(text, new RegExp(`# TYPE ${prometheusCounterName(name)} counter`), name);
    }
    assert.equal(prometheusCounterName('TasksStarted'), 'eks_activity_worker_tasks_started_total');
    assert.match(text, new RegExp(`# TYPE ${timeToCompletionName} histogram`));
    assert.match(text, /# TYPE process_resident_memory_bytes gauge/);
  });

  test('task events count as the Lambda counts them; failures by error name', async () => {
    const { registry, observer } = makeProcessMetrics();
    observer.taskStarted?.({ activityName: 'a', integration: 'eks:call', resumed: false });
    observer.taskStarted?.({ activityName: 'a', integration: 'eks:call', resumed: true });
    observer.taskEnded?.(ended('success'));
    observer.taskEnded?.(ended('failure', 'EKS.JobFailed'));
    observer.taskEnded?.(ended('failure', 'EKS.JobFailed'));
    observer.taskEnded?.(ended('handed-off'));
    observer.taskEnded?.(ended('parked'));
    observer.taskEnded?.(ended('parked'));
    observer.heartbeatFailed?.({ activityName: 'a', errorName: 'TaskTimedOut' });
    observer.answerEnded?.({ activityName: 'a', result: 'gave-up', handedOffAnswer: false });
    observer.answerEnded?.({ activityName: 'a', result: 'handed-off', handedOffAnswer: false });
    observer.answerEnded?.({ activityName: 'a', result: 'delivered', handedOffAnswer: true });
    observer.answerEnded?.({ activityName: 'a', result: 'delivered', handedOffAnswer: false });
    const text = await registry.metrics();
    assert.equal(sample(text, 'eks_activity_worker_tasks_started_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_tasks_resumed_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_tasks_succeeded_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_tasks_parked_total'), 2);
    assert.equal(
      sample(text, 'eks_activity_worker_tasks_failed_total{error_name="EKS.JobFailed"}'),
      2,
    );
    assert.equal(sample(text, 'eks_activity_worker_hand_offs_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_heartbeat_failures_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_answers_lost_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_answers_handed_off_total'), 1);
    assert.equal(sample(text, 'eks_activity_worker_handed_off_answers_delivered_total'), 1);
    // A hand-off is not an answer: only the three answered tasks reach TimeToCompletion.
    assert.equal(sample(text, `${timeToCompletionName}_count`), 3);
    assert.equal(sample(text, `${timeToCompletionName}_sum`), 7.5);
  });

  test('the poll loop and carrier gauges are read at each scrape', async () => {
    const metrics = makeProcessMetrics();
    let busy = 3;
    let carried = 7;
    metrics.trackPollLoop({
      busySlots: () => busy,
      pollsInFlight: () => 2,
      carriedTasks: () => carried,
    });
    assert.equal(sample(await metrics.registry.metrics(), 'eks_activity_worker_carried_tasks'), 7);
    carried = 0;
    assert.equal(sample(await metrics.registry.metrics(), 'eks_activity_worker_carried_tasks'), 0);
    assert.equal(sample(await metrics.registry.metrics(), 'eks_activity_worker_busy_slots'), 3);
    busy = 5;
    assert.equal(sample(await metrics.registry.metrics(), 'eks_activity_worker_busy_slots'), 5);
    assert.equal(
      sample(await metrics.registry.metrics(), 'eks_activity_worker_polls_in_flight'),
      2,
    );
  });
});
