/**
 * Alarms and a CloudWatch dashboard for one stage, as CloudFormation, for serverless.yml.
 *
 * Why a file and not YAML: 15 activities each get a pick-up alarm and a line on the dashboard, and
 * the dashboard body is JSON that must name the same metrics and dimensions as the alarms.
 *
 * The worker's own metrics (namespace EksActivityWorker, lib/hosts/lambda-metrics.ts) carry the
 * dimensions `service` and `stage` (EKS_WORKER_STAGE), plus `ErrorName` on the per-error
 * TasksFailed line. An alarm must name a metric's exact dimension set, so these are spelt out here
 * once. The rest are AWS's own metrics: AWS/Lambda, AWS/SQS and AWS/States (per ActivityArn).
 *
 * Usage in serverless.yml: `${file(./infra/serverless/monitoring.cjs):resources}`.
 */
const { activitySuffixes, toLogicalId } = require('./activities.cjs');
const { maxReceiveCount } = require('./hand-off-queue.cjs');

const service = 'eks-activity-worker';
const namespace = 'EksActivityWorker';

/** A reference Fn::Sub replaces (`${Name}`), spelt so no linter takes it for a template slip. */
const sub = (name) => `\${${name}}`;

/** Functions' logical ids as the Framework names them. */
const pollerFunction = 'PollerLambdaFunction';
const resumerFunction = 'ResumerLambdaFunction';

/**
 * Waits not carried: the hand-off queue's visible messages. A carried wait is an in-flight message
 * (leased), for as long as its task runs, hours if need be, so the age of the oldest message says
 * nothing any more; a visible one is a wait no carrier holds, and so nobody heartbeats. Parked
 * waits and hand-backs are visible for a moment until a carrier receives them, so one sample is
 * not enough: the alarm wants a visible message in 2 consecutive minutes.
 */
const notCarried = { periodSeconds: 60, evaluationPeriods: 2 };

/**
 * The share of the stage's carrying capacity (resumerMaximumConcurrency x the resumer's
 * EKS_WORKER_MAX_CARRIED_TASKS) at which the carriers-nearly-full alarm fires: before any wait is
 * left uncarried, so it warns ahead of the not-carried alarm and of any HeartbeatSeconds. Each
 * resumer invocation reports `CarriedTasks` once a minute; their Sum over a minute is the stage's.
 */
const nearlyFullShare = 0.8;

/**
 * An alarm on one metric: any data point at or over `threshold` in a 5-minute period, or in
 * `datapoints` of the last `evaluationPeriods` periods.
 */
const makeAlarm =
  (actions) =>
  ({
    name,
    description,
    metric,
    statistic = 'Sum',
    threshold = 1,
    periodSeconds = 300,
    evaluationPeriods = 1,
    datapoints = evaluationPeriods,
  }) => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: description,
      Namespace: metric.namespace,
      MetricName: metric.name,
      Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
      Statistic: statistic,
      Period: periodSeconds,
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: datapoints,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // No data means nothing happened (no failures, no tasks): not an alarm.
      TreatMissingData: 'notBreaching',
      ...actions,
    },
  });

/**
 * Every log line of one task, in order: paste the workerName of the execution history's
 * ActivityStarted event over the placeholder.
 */
const taskLogsQuery = [
  'fields @timestamp, level, message, activity, taskId, errorName, function_request_id',
  '| filter workerName = "PASTE-ActivityStarted-workerName"',
  '| sort @timestamp asc',
].join('\n');

/** Everything serverless.yml needs, for one stage. */
const describeMonitoring = ({
  stage,
  pickupAlarmSeconds,
  alarmTopicArn = '',
  carryingCapacity = 10_000,
}) => {
  const prefix = `${service}-${stage}`;
  // Every alarm notifies the topic when it fires and when it clears; without one they only show.
  const alarm = makeAlarm(
    alarmTopicArn === '' ? {} : { AlarmActions: [alarmTopicArn], OKActions: [alarmTopicArn] },
  );
  const workerDimensions = { service, stage };
  const worker = (name, extra = {}) => ({
    namespace,
    name,
    dimensions: { ...workerDimensions, ...extra },
  });
  const lambdaErrors = (logicalId) => ({
    namespace: 'AWS/Lambda',
    name: 'Errors',
    dimensions: { FunctionName: { Ref: logicalId } },
  });
  const queueMetric = (name, logicalId) => ({
    namespace: 'AWS/SQS',
    name,
    dimensions: { QueueName: { 'Fn::GetAtt': [logicalId, 'QueueName'] } },
  });

  const resources = {
    HandOffDeadLetterQueueAlarm: alarm({
      name: `${prefix}-handoff-dlq-not-empty`,
      description: `Hand-off messages received ${maxReceiveCount} times without being settled (unreadable, or their carriers kept dying or losing the lease) are in the dead-letter queue: their tasks get no heartbeat and time out. Fix the cause (resumer logs, messageId), then redrive.`,
      metric: queueMetric('ApproximateNumberOfMessagesVisible', 'HandOffDeadLetterQueue'),
      statistic: 'Maximum',
    }),
    HandOffWaitsNotCarriedAlarm: alarm({
      name: `${prefix}-handoff-waits-not-carried`,
      description:
        'The hand-off queue has had visible messages for 2 minutes: .sync waits (or answers to deliver) that no carrier holds, so nobody heartbeats them, and they time out after their HeartbeatSeconds. Carriers are full or not running. Lambda: resumer errors and throttles; raise resumerMaximumConcurrency, or the resumer memory together with EKS_WORKER_MAX_CARRIED_TASKS. Process replicas: add replicas, or raise EKS_WORKER_MAX_CARRIED_TASKS (and memory); every replica needs EKS_WORKER_HANDOFF_QUEUE_URL.',
      metric: queueMetric('ApproximateNumberOfMessagesVisible', 'HandOffQueue'),
      statistic: 'Maximum',
      ...notCarried,
    }),
    CarriersNearlyFullAlarm: alarm({
      name: `${prefix}-carriers-nearly-full`,
      description: `The resumers carry ${Math.round(nearlyFullShare * 100)} % of the ${carryingCapacity} .sync waits the stage can carry at once (resumerMaximumConcurrency x EKS_WORKER_MAX_CARRIED_TASKS). Past 100 %, parked waits stay in the queue without heartbeats. Raise resumerMaximumConcurrency, or the resumer memory together with EKS_WORKER_MAX_CARRIED_TASKS.`,
      metric: worker('CarriedTasks'),
      statistic: 'Sum',
      threshold: Math.ceil(nearlyFullShare * carryingCapacity),
      periodSeconds: 60,
      evaluationPeriods: 2,
    }),
    PollerErrorsAlarm: alarm({
      name: `${prefix}-poller-errors`,
      description:
        'A poller invocation failed (configuration, crash or timeout): see its log group.',
      metric: lambdaErrors(pollerFunction),
    }),
    ResumerErrorsAlarm: alarm({
      name: `${prefix}-resumer-errors`,
      description: 'A resumer invocation failed: its batch is redelivered; see its log group.',
      metric: lambdaErrors(resumerFunction),
    }),
    WorkerErrorTasksAlarm: alarm({
      name: `${prefix}-tasks-failed-worker-error`,
      description: 'A task failed with EKS.WorkerError, an unexpected error in the worker itself.',
      metric: worker('TasksFailed', { ErrorName: 'EKS.WorkerError' }),
    }),
    HeartbeatFailuresAlarm: alarm({
      name: `${prefix}-heartbeat-failures`,
      description:
        'SendTaskHeartbeat failed (throttling, 5xx, network) and is being retried; tasks whose heartbeats keep failing time out.',
      metric: worker('HeartbeatFailures'),
    }),
    AnswersLostAlarm: alarm({
      name: `${prefix}-answers-not-delivered`,
      description:
        'An answer (fresh or handed off) was never delivered: Step Functions refused it or retries ran out. Its execution waits for its timeout.',
      metric: worker('AnswersLost'),
    }),
  };

  // AWS/States ActivityScheduleTime: from a task being scheduled to a worker's poll taking it.
  // Over the bound, no poll was in flight for the activity (or every slot was busy) that long.
  for (const suffix of activitySuffixes) {
    const activity = toLogicalId(suffix);
    resources[`${activity}PickupAlarm`] = alarm({
      name: `${prefix}-pickup-${suffix}`,
      description: `A ${stage}-${suffix} task waited over ${pickupAlarmSeconds} s for a worker to take it (ActivityScheduleTime).`,
      metric: {
        namespace: 'AWS/States',
        name: 'ActivityScheduleTime',
        dimensions: { ActivityArn: { Ref: activity } },
      },
      statistic: 'Maximum',
      // ActivityScheduleTime is in milliseconds.
      threshold: pickupAlarmSeconds * 1000,
      periodSeconds: 60,
    });
  }

  // Logs Insights, saved: from an execution's ActivityStarted workerName to the task's log lines
  // in both functions' log groups (the poller's and, after a hand-off, the resumer's).
  resources.TaskLogsQuery = {
    Type: 'AWS::Logs::QueryDefinition',
    Properties: {
      Name: `${prefix}/task-log-lines-by-worker-name`,
      LogGroupNames: [{ Ref: 'PollerLogGroup' }, { Ref: 'ResumerLogGroup' }],
      QueryString: taskLogsQuery,
    },
  };

  resources.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: prefix,
      DashboardBody: { 'Fn::Sub': JSON.stringify(dashboardBody(stage)) },
    },
  };

  return {
    resources: {
      Resources: resources,
      Outputs: {
        DashboardUrl: {
          Description: 'The CloudWatch dashboard of this stage',
          Value: {
            'Fn::Sub': `https://${sub('AWS::Region')}.console.aws.amazon.com/cloudwatch/home?region=${sub('AWS::Region')}#dashboards:name=${sub('Dashboard')}`,
          },
        },
      },
    },
  };
};

/**
 * The dashboard's widgets. `${...}` are Fn::Sub references (Region, functions, queues, activity
 * ARNs); everything else is literal.
 */
const dashboardBody = (stage) => {
  const dims = ['service', service, 'stage', stage];
  const count = (name) => [namespace, name, ...dims, { stat: 'Sum' }];
  let y = 0;
  const row = (widgets) => {
    const placed = widgets.map((widget, index) => ({
      type: 'metric',
      x: index * 8,
      y,
      width: 8,
      height: 6,
      properties: { region: sub('AWS::Region'), period: 300, view: 'timeSeries', ...widget },
    }));
    y += 6;
    return placed;
  };
  return {
    widgets: [
      ...row([
        {
          title: 'Tasks',
          metrics: [
            'TasksStarted',
            'TasksResumed',
            'TasksSucceeded',
            'TasksFailed',
            'TasksAbandoned',
            'HandOffs',
            'TasksParked',
          ].map(count),
        },
        {
          title: 'Failed tasks by error',
          metrics: [
            [
              {
                expression: `SEARCH('{${namespace},ErrorName,service,stage} MetricName="TasksFailed" service="${service}" stage="${stage}"', 'Sum', 300)`,
                id: 'byError',
              },
            ],
          ],
        },
        {
          title: 'Time to completion (ms, across hand-offs)',
          metrics: ['p50', 'p99', 'Maximum'].map((stat) => [
            namespace,
            'TimeToCompletion',
            ...dims,
            { stat },
          ]),
        },
      ]),
      ...row([
        {
          title: 'Heartbeats and answers',
          metrics: [
            'HeartbeatFailures',
            'AnswersHandedOff',
            'HandedOffAnswersDelivered',
            'AnswersLost',
          ].map(count),
        },
        {
          title: 'Lambda invocations, errors, cold starts',
          metrics: [
            ...['Invocations', 'Errors', 'Throttles'].flatMap((name) => [
              ['AWS/Lambda', name, 'FunctionName', sub('PollerLambdaFunction'), { stat: 'Sum' }],
              ['AWS/Lambda', name, 'FunctionName', sub('ResumerLambdaFunction'), { stat: 'Sum' }],
            ]),
            [
              {
                expression: `SEARCH('{${namespace},function_name,service,stage} MetricName="ColdStart" service="${service}" stage="${stage}"', 'Sum', 300)`,
                id: 'coldStarts',
              },
            ],
          ],
        },
        {
          // No age of the oldest message: carried waits are in-flight messages that live as long
          // as their tasks, and that metric counts them.
          title: 'Hand-off queue: waits carried and not',
          metrics: [
            [
              'AWS/SQS',
              'ApproximateNumberOfMessagesNotVisible',
              'QueueName',
              sub('HandOffQueue.QueueName'),
              { stat: 'Maximum', label: 'carried (in flight, leased)' },
            ],
            [
              'AWS/SQS',
              'ApproximateNumberOfMessagesVisible',
              'QueueName',
              sub('HandOffQueue.QueueName'),
              { stat: 'Maximum', label: 'not carried (visible: no heartbeat)' },
            ],
            [
              'AWS/SQS',
              'ApproximateNumberOfMessagesVisible',
              'QueueName',
              sub('HandOffDeadLetterQueue.QueueName'),
              { stat: 'Maximum', label: 'dead-letter queue' },
            ],
            [
              namespace,
              'CarriedTasks',
              ...dims,
              { stat: 'Sum', period: 60, label: 'carried by resumers (reported each minute)' },
            ],
          ],
        },
      ]),
      ...row([
        {
          title: 'Pick-up time per activity (ActivityScheduleTime max, ms)',
          metrics: activitySuffixes.map((suffix) => [
            'AWS/States',
            'ActivityScheduleTime',
            'ActivityArn',
            `\${${toLogicalId(suffix)}}`,
            { stat: 'Maximum', label: suffix },
          ]),
        },
        {
          title: 'Activity tasks timed out (Step Functions)',
          metrics: activitySuffixes.flatMap((suffix) =>
            ['ActivitiesTimedOut', 'ActivitiesHeartbeatTimedOut'].map((name) => [
              'AWS/States',
              name,
              'ActivityArn',
              `\${${toLogicalId(suffix)}}`,
              { stat: 'Sum', label: `${suffix} ${name}` },
            ]),
          ),
        },
        {
          title: 'Lambda duration (ms)',
          metrics: [
            [
              'AWS/Lambda',
              'Duration',
              'FunctionName',
              sub('PollerLambdaFunction'),
              { stat: 'Maximum' },
            ],
            [
              'AWS/Lambda',
              'Duration',
              'FunctionName',
              sub('ResumerLambdaFunction'),
              { stat: 'p99' },
            ],
            [
              'AWS/Lambda',
              'ConcurrentExecutions',
              'FunctionName',
              sub('ResumerLambdaFunction'),
              { stat: 'Maximum', yAxis: 'right' },
            ],
          ],
        },
      ]),
    ],
  };
};

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const pickupAlarmSeconds = Number(await resolveVariable('param:pickupAlarmSeconds'));
  const alarmTopicArn = String(await resolveVariable('param:alarmTopicArn')).trim();
  const carryingCapacity =
    Number(await resolveVariable('param:resumerMaximumConcurrency')) *
    Number(
      await resolveVariable('self:functions.resumer.environment.EKS_WORKER_MAX_CARRIED_TASKS'),
    );
  return describeMonitoring({ stage, pickupAlarmSeconds, alarmTopicArn, carryingCapacity });
};
module.exports.describeMonitoring = describeMonitoring;
module.exports.notCarried = notCarried;
module.exports.taskLogsQuery = taskLogsQuery;
