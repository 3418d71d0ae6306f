/**
 * What `serverless package` produces for AWS: the activities, the two functions, the hand-off
 * queues and least-privilege IAM, read from the packaged CloudFormation template.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MetricName, metricsNamespace } from '../../lib/hosts/lambda-metrics.ts';
import { serviceName } from '../../lib/logger.ts';
import {
  type CfnResource,
  type CfnTemplate,
  packageOptions,
  packageService,
  printService,
  projectDir,
} from './packaged.ts';

const require = createRequire(import.meta.url);
const { toVpcConfig } = require('../../infra/serverless/vpc.cjs') as {
  toVpcConfig(subnets: string, groups: string): unknown;
};
const handOffQueueModule = require('../../infra/serverless/hand-off-queue.cjs') as {
  describeHandOffQueue(options: { service: string; stage: string }): {
    Resources: Record<string, CfnResource>;
  };
};
const { describeMonitoring } = require('../../infra/serverless/monitoring.cjs') as {
  describeMonitoring(options: {
    stage: string;
    pickupAlarmSeconds: number;
    alarmTopicArn?: string;
  }): {
    resources: { Resources: Record<string, CfnResource> };
  };
};

/** Contract §1: one activity per native integration. */
const contractSuffixes = [
  'eks-runJob',
  'eks-runJob-sync',
  'eks-call',
  'eks-createCluster',
  'eks-createCluster-sync',
  'eks-deleteCluster',
  'eks-deleteCluster-sync',
  'eks-createFargateProfile',
  'eks-createFargateProfile-sync',
  'eks-deleteFargateProfile',
  'eks-deleteFargateProfile-sync',
  'eks-createNodegroup',
  'eks-createNodegroup-sync',
  'eks-deleteNodegroup',
  'eks-deleteNodegroup-sync',
];

/** `Fn::Sub` of an ARN in this stack's partition, Region and account (`{P}`, `{R}`, `{A}`). */
const sub = (text: string) => ({
  'Fn::Sub': text
    .replace('{P}', '$' + '{AWS::Partition}')
    .replace('{R}', '$' + '{AWS::Region}')
    .replace('{A}', '$' + '{AWS::AccountId}'),
});
const clusterArn = sub('arn:{P}:eks:{R}:{A}:cluster/*');
const nodegroupArn = sub('arn:{P}:eks:{R}:{A}:nodegroup/*/*');
const fargateArn = sub('arn:{P}:eks:{R}:{A}:fargateprofile/*/*');
const anyRoleArn = sub('arn:{P}:iam::{A}:role/*');

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: unknown;
  Condition?: unknown;
}

describe('serverless package: CloudFormation template', () => {
  let template: CfnTemplate;
  let activities: [string, CfnResource][];
  let statements: Statement[];
  const resource = (logicalId: string): CfnResource => {
    const found = template.Resources[logicalId];
    assert.ok(found, `no resource ${logicalId}`);
    return found;
  };
  const functionNamed = (name: 'Poller' | 'Resumer') => resource(`${name}LambdaFunction`);
  const activityRefs = () => activities.map(([logicalId]) => ({ Ref: logicalId }));

  before(async () => {
    ({ template } = await packageService());
    activities = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::StepFunctions::Activity',
    );
    const role = resource('IamRoleLambdaExecution').Properties as {
      Policies: { PolicyDocument: { Statement: Statement[] } }[];
    };
    statements = role.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
  });

  describe('activities', () => {
    test('declares the 15 activities of contract §1, each named <stage>-<suffix>', () => {
      const names = activities.map(([, r]) => r.Properties.Name as string).sort();
      assert.deepEqual(names, contractSuffixes.map((s) => `${packageOptions.stage}-${s}`).sort());
    });

    test('outputs each activity ARN under an alphanumeric key, exported as <service>-<stage>-<key>', () => {
      for (const [logicalId, activity] of activities) {
        const suffix = (activity.Properties.Name as string).replace(/^test-/, '');
        const key = `${logicalId}Arn`;
        // CloudFormation rejects output names that are not alphanumeric ("non alphanumeric").
        assert.match(key, /^[A-Za-z0-9]+$/);
        const output = template.Outputs[key] as
          | { Value: unknown; Export?: { Name: unknown } }
          | undefined;
        assert.deepEqual(output?.Value, { Ref: logicalId }, suffix);
        assert.deepEqual(output?.Export, {
          Name: `eks-activity-worker-${packageOptions.stage}-${key}`,
        });
      }
      const exportNames = Object.values(template.Outputs).flatMap(
        (o) => (o as { Export?: { Name: string } }).Export?.Name ?? [],
      );
      assert.equal(new Set(exportNames).size, exportNames.length, 'export names are unique');
    });

    test('every output name is alphanumeric, as CloudFormation requires', () => {
      for (const key of Object.keys(template.Outputs)) assert.match(key, /^[A-Za-z0-9]+$/);
    });

    test('outputs the hand-off queue URL and its dead-letter queue URL', () => {
      assert.deepEqual(template.Outputs.HandOffQueueUrl?.Value, { Ref: 'HandOffQueue' });
      assert.deepEqual(template.Outputs.HandOffDeadLetterQueueUrl?.Value, {
        Ref: 'HandOffDeadLetterQueue',
      });
    });
  });

  describe('functions', () => {
    for (const name of ['Poller', 'Resumer'] as const) {
      test(`${name}: nodejs22.x on arm64, ESM handler in functions/`, () => {
        const props = functionNamed(name).Properties;
        assert.equal(props.Runtime, 'nodejs22.x');
        assert.deepEqual(props.Architectures, ['arm64']);
        assert.equal(props.Handler, `functions/${name.toLowerCase()}.handler`);
      });

      test(`${name}: runs in the VPC subnets and security groups given as parameters`, () => {
        assert.deepEqual(functionNamed(name).Properties.VpcConfig, {
          SubnetIds: packageOptions.vpcSubnetIds,
          SecurityGroupIds: packageOptions.vpcSecurityGroupIds,
        });
      });

      test(`${name}: environment lists every activity ARN and the hand-off queue URL`, () => {
        const env = (
          functionNamed(name).Properties.Environment as { Variables: Record<string, unknown> }
        ).Variables;
        assert.deepEqual(env.EKS_WORKER_ACTIVITY_ARNS, { 'Fn::Join': [',', activityRefs()] });
        assert.deepEqual(env.EKS_WORKER_HANDOFF_QUEUE_URL, { Ref: 'HandOffQueue' });
        assert.equal(env.NODE_OPTIONS, '--enable-source-maps');
      });
    }

    test('poller: 900 s timeout, 256 MB, reserved concurrency 2, scheduled every 10 minutes', () => {
      const props = functionNamed('Poller').Properties;
      assert.equal(props.Timeout, 900);
      assert.equal(props.MemorySize, 256);
      assert.equal(props.ReservedConcurrentExecutions, 2);
      const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
      assert.equal(rules.length, 1);
      assert.equal(rules[0]?.Properties.ScheduleExpression, 'rate(10 minutes)');
    });

    describe('poller invocations overlap, cheaply', () => {
      const intervalMs = 10 * 60_000;
      const readWindowMs = () => {
        const env = (
          functionNamed('Poller').Properties.Environment as { Variables: Record<string, unknown> }
        ).Variables;
        return Number(env.EKS_WORKER_POLL_WINDOW_MS);
      };

      test('each invocation polls past the next tick, even a tick a minute late plus a cold start', () => {
        // EventBridge fires a scheduled rule somewhere within its minute.
        assert.ok(readWindowMs() >= intervalMs + 60_000 + 10_000, `window ${readWindowMs()} ms`);
      });

      test('the window, its last long poll and the finishing budgets fit the timeout', () => {
        const timeoutMs = (functionNamed('Poller').Properties.Timeout as number) * 1000;
        // Defaults of EKS_WORKER_LONG_POLL_BUDGET_MS, _TASK_FINISH_BUDGET_MS, _HANDOFF_RESERVE_MS.
        assert.ok(readWindowMs() + 65_000 + 30_000 + 20_000 <= timeoutMs);
      });

      test('never more than the reserved concurrency at once, so no tick is throttled', () => {
        const timeoutMs = (functionNamed('Poller').Properties.Timeout as number) * 1000;
        const reserved = functionNamed('Poller').Properties.ReservedConcurrentExecutions as number;
        // Ticks are at least the interval minus a minute apart; an invocation lasts at most the
        // timeout: that many can run at once.
        assert.ok(Math.ceil(timeoutMs / (intervalMs - 60_000)) <= reserved);
      });

      test('idle cost is at most a third of two always-on 512 MB pollers', () => {
        const memoryGb = (functionNamed('Poller').Properties.MemorySize as number) / 1024;
        const secondsPerMonth = 730 * 3600;
        // Idle, an invocation lasts its window plus its last 60 s long poll.
        const idleSeconds = (readWindowMs() + 60_000) / 1000;
        const gbSecondsPerMonth = (secondsPerMonth / (intervalMs / 1000)) * idleSeconds * memoryGb;
        const before = 2 * 0.5 * secondsPerMonth;
        assert.ok(gbSecondsPerMonth <= before / 3, `${gbSecondsPerMonth} GB-s vs ${before}`);
      });
    });

    test('poller: a schedule tick that finds no free concurrency is dropped, not retried', () => {
      const config = resource('PollerLambdaEvConf').Properties;
      assert.equal(config.MaximumRetryAttempts, 0);
      assert.equal(config.MaximumEventAgeInSeconds, 60);
    });

    test('resumer: SQS event source on the hand-off queue, batches of 10 at once, 10 invocations, partial failures', () => {
      const mappings = Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
      );
      assert.equal(mappings.length, 1);
      const props = mappings[0]?.Properties ?? {};
      assert.deepEqual(props.EventSourceArn, { 'Fn::GetAtt': ['HandOffQueue', 'Arn'] });
      assert.deepEqual(props.FunctionName, { 'Fn::GetAtt': ['ResumerLambdaFunction', 'Arn'] });
      assert.deepEqual(props.FunctionResponseTypes, ['ReportBatchItemFailures']);
      assert.equal(props.BatchSize, 10);
      // A parked wait gets no heartbeat until carried: no batching delay.
      assert.equal(props.MaximumBatchingWindowInSeconds, 0);
      assert.deepEqual(props.ScalingConfig, { MaximumConcurrency: 10 });
    });

    describe('resumer: a carrier of 1,000 waits in 1024 MB', () => {
      const resumerEnv = () =>
        (functionNamed('Resumer').Properties.Environment as { Variables: Record<string, unknown> })
          .Variables;

      test('900 s timeout, 1024 MB, EKS_WORKER_MAX_CARRIED_TASKS 1000 (the resumer only)', () => {
        const props = functionNamed('Resumer').Properties;
        assert.equal(props.Timeout, 900);
        assert.equal(props.MemorySize, 1024);
        assert.equal(resumerEnv().EKS_WORKER_MAX_CARRIED_TASKS, '1000');
        const pollerEnv = (
          functionNamed('Poller').Properties.Environment as { Variables: Record<string, unknown> }
        ).Variables;
        assert.equal(pollerEnv.EKS_WORKER_MAX_CARRIED_TASKS, undefined);
      });

      test('the waits it carries fit in half its memory at the benchmark’s per-task RSS', () => {
        const bench = JSON.parse(
          readFileSync(join(projectDir, 'test/bench/results/latest.json'), 'utf8'),
        ) as { concurrency: { perTaskKiB: number } };
        // ~90 MiB: a Lambda worker's base (serverless.yml's poller sizing); the rest is heap room.
        const carried = Number(resumerEnv().EKS_WORKER_MAX_CARRIED_TASKS);
        const estimateMiB = 90 + (carried * bench.concurrency.perTaskKiB) / 1024;
        const memoryMiB = functionNamed('Resumer').Properties.MemorySize as number;
        assert.ok(estimateMiB <= memoryMiB / 2, `${estimateMiB} MiB of ${memoryMiB}`);
      });

      test('capacity at the defaults: maximum concurrency x carried waits = 10,000 waits', () => {
        const mapping = Object.values(template.Resources).find(
          (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
        );
        assert.ok(mapping);
        const { MaximumConcurrency: concurrency } = mapping.Properties.ScalingConfig as {
          MaximumConcurrency: number;
        };
        assert.equal(concurrency * Number(resumerEnv().EKS_WORKER_MAX_CARRIED_TASKS), 10_000);
      });
    });
  });

  describe('hand-off queues', () => {
    test('the queue is encrypted, keeps 14 days, and hides a message exactly the resumer timeout', () => {
      const queue = resource('HandOffQueue').Properties;
      const resumerTimeout = functionNamed('Resumer').Properties.Timeout as number;
      assert.equal(queue.SqsManagedSseEnabled, true);
      assert.equal(queue.MessageRetentionPeriod, 1_209_600);
      // Lambda's floor for an event source, and no more: a record held without a running handler
      // is a wait nobody heartbeats (not 6 x 900 s = 90 minutes).
      assert.equal(queue.VisibilityTimeout, resumerTimeout);
      assert.equal(queue.VisibilityTimeout, 900);
    });

    test('a message received 10 times moves to the encrypted dead-letter queue, kept 14 days', () => {
      assert.deepEqual(resource('HandOffQueue').Properties.RedrivePolicy, {
        deadLetterTargetArn: { 'Fn::GetAtt': ['HandOffDeadLetterQueue', 'Arn'] },
        maxReceiveCount: 10,
      });
      const dlq = resource('HandOffDeadLetterQueue').Properties;
      assert.equal(dlq.SqsManagedSseEnabled, true);
      assert.equal(dlq.MessageRetentionPeriod, 1_209_600);
    });

    test('the queues are infra/serverless/hand-off-queue.cjs’s, the one definition both stacks use', () => {
      const shared = handOffQueueModule.describeHandOffQueue({
        service: 'eks-activity-worker',
        stage: packageOptions.stage,
      }).Resources;
      assert.deepEqual(Object.keys(shared).sort(), [
        'HandOffDeadLetterQueue',
        'HandOffQueue',
        'HandOffQueuesTlsOnly',
      ]);
      for (const [logicalId, expected] of Object.entries(shared)) {
        assert.deepEqual(resource(logicalId), expected, logicalId);
      }
    });

    test('both queues refuse requests without TLS', () => {
      const policy = resource('HandOffQueuesTlsOnly').Properties as {
        Queues: unknown[];
        PolicyDocument: { Statement: Statement[] };
      };
      assert.deepEqual(policy.Queues, [{ Ref: 'HandOffQueue' }, { Ref: 'HandOffDeadLetterQueue' }]);
      assert.deepEqual(policy.PolicyDocument.Statement[0]?.Condition, {
        Bool: { 'aws:SecureTransport': 'false' },
      });
      assert.equal(policy.PolicyDocument.Statement[0]?.Effect, 'Deny');
    });
  });

  describe('IAM (least privilege)', () => {
    const bySid = (sid: string): Statement => {
      const found = statements.find((s) => s.Sid === sid);
      assert.ok(found, `no statement ${sid}`);
      return found;
    };

    test('no wildcard action anywhere', () => {
      for (const statement of statements) {
        for (const action of statement.Action) assert.doesNotMatch(action, /\*/, action);
      }
    });

    test('GetActivityTask only on the stage activities', () => {
      assert.deepEqual(bySid('PollActivities').Action, ['states:GetActivityTask']);
      assert.deepEqual(bySid('PollActivities').Resource, activityRefs());
    });

    test('SendTask* on "*": they take a token and define no resource type', () => {
      const statement = bySid('AnswerActivityTasks');
      assert.deepEqual(statement.Action, [
        'states:SendTaskSuccess',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
      ]);
      assert.equal(statement.Resource, '*');
    });

    test('EKS: each action on the narrowest resource type IAM defines for it', () => {
      assert.deepEqual(bySid('EksClusters').Action, [
        'eks:DescribeCluster',
        'eks:DeleteCluster',
        'eks:CreateNodegroup',
        'eks:CreateFargateProfile',
      ]);
      assert.deepEqual(bySid('EksClusters').Resource, [clusterArn]);
      assert.deepEqual(bySid('EksCreateCluster').Action, ['eks:CreateCluster']);
      assert.equal(bySid('EksCreateCluster').Resource, '*');
      assert.deepEqual(bySid('EksNodegroups').Action, [
        'eks:DescribeNodegroup',
        'eks:DeleteNodegroup',
      ]);
      assert.deepEqual(bySid('EksNodegroups').Resource, [nodegroupArn]);
      assert.deepEqual(bySid('EksFargateProfiles').Action, [
        'eks:DescribeFargateProfile',
        'eks:DeleteFargateProfile',
      ]);
      assert.deepEqual(bySid('EksFargateProfiles').Resource, [fargateArn]);
      assert.deepEqual(bySid('EksTagOnCreate').Action, ['eks:TagResource']);
      assert.deepEqual(bySid('EksTagOnCreate').Resource, [clusterArn, nodegroupArn, fargateArn]);
    });

    test('node group creation checks: subnets and role look-ups only', () => {
      assert.deepEqual(bySid('EksNodegroupChecks').Action, ['ec2:DescribeSubnets']);
      assert.deepEqual(bySid('EksNodeRoleChecks').Action, [
        'iam:GetRole',
        'iam:ListAttachedRolePolicies',
      ]);
      assert.deepEqual(bySid('EksNodeRoleChecks').Resource, [anyRoleArn]);
    });

    test('PassRole only to EKS', () => {
      const statement = bySid('PassRolesToEksOnly');
      assert.deepEqual(statement.Action, ['iam:PassRole']);
      assert.deepEqual(statement.Resource, [anyRoleArn]);
      assert.deepEqual(statement.Condition, {
        StringEquals: { 'iam:PassedToService': 'eks.amazonaws.com' },
      });
    });

    test('service-linked roles: only the three EKS ones, conditioned on the service name', () => {
      const statement = bySid('EksServiceLinkedRoles');
      assert.deepEqual(statement.Action, ['iam:CreateServiceLinkedRole']);
      assert.equal((statement.Resource as unknown[]).length, 3);
      assert.deepEqual(statement.Condition, {
        StringEquals: {
          'iam:AWSServiceName': [
            'eks.amazonaws.com',
            'eks-nodegroup.amazonaws.com',
            'eks-fargate.amazonaws.com',
          ],
        },
      });
    });

    test('HandOff: exactly the SQS calls the worker makes, on the hand-off queue only', () => {
      const queueArn = { 'Fn::GetAtt': ['HandOffQueue', 'Arn'] };
      const statement = bySid('HandOff');
      assert.equal(statement.Effect, 'Allow');
      // ChangeMessageVisibilityBatch authorizes as sqs:ChangeMessageVisibility; no
      // GetQueueAttributes: only the event source calls it, in the Framework's statement.
      assert.deepEqual(statement.Action, [
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
      ]);
      assert.deepEqual(statement.Resource, [queueArn]);
      const sqs = statements.filter((s) => s.Action.some((a) => a.startsWith('sqs:')));
      assert.deepEqual([...new Set(sqs.flatMap((s) => s.Action))].sort(), [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ]);
      for (const s of sqs) assert.deepEqual(s.Resource, [queueArn]);
    });

    test('every statement is one of the reviewed ones (nothing else slipped in)', () => {
      const reviewed = new Set([
        'PollActivities',
        'AnswerActivityTasks',
        'EksClusters',
        'EksCreateCluster',
        'EksNodegroups',
        'EksFargateProfiles',
        'EksTagOnCreate',
        'EksNodegroupChecks',
        'EksNodeRoleChecks',
        'PassRolesToEksOnly',
        'EksServiceLinkedRoles',
        'HandOff',
      ]);
      const frameworkAdded = statements.filter((s) => s.Sid === undefined);
      assert.deepEqual(
        statements.filter((s) => s.Sid !== undefined).map((s) => s.Sid),
        [...reviewed],
      );
      // The Framework's own: log streams of these functions, and the SQS event source.
      assert.deepEqual(
        frameworkAdded.map((s) => s.Action.join(',')),
        [
          'logs:CreateLogStream,logs:CreateLogGroup,logs:TagResource',
          'logs:PutLogEvents',
          'sqs:ReceiveMessage,sqs:DeleteMessage,sqs:GetQueueAttributes',
        ],
      );
    });

    test('ENI management for the VPC comes from AWSLambdaVPCAccessExecutionRole', () => {
      const arns = JSON.stringify(resource('IamRoleLambdaExecution').Properties.ManagedPolicyArns);
      assert.match(arns, /:iam::aws:policy\/service-role\/AWSLambdaVPCAccessExecutionRole/);
    });
  });
});

describe('VPC parameters (infra/serverless/vpc.cjs)', () => {
  test('both empty means no VPC (false opts a function out)', () => {
    assert.equal(toVpcConfig('', ''), false);
  });

  test('comma-separated ids are trimmed into lists', () => {
    assert.deepEqual(toVpcConfig('subnet-a, subnet-b', ' sg-1 '), {
      subnetIds: ['subnet-a', 'subnet-b'],
      securityGroupIds: ['sg-1'],
    });
  });

  test('subnets without security groups fail packaging with a message that says so', () => {
    assert.throws(() => toVpcConfig('subnet-a', ''), /vpcSubnetIds and vpcSecurityGroupIds/);
  });
});

describe('serverless package: alarms and dashboard (infra/serverless/monitoring.cjs)', () => {
  let template: CfnTemplate;
  const alarmProps = (logicalId: string) => {
    const found = template.Resources[logicalId];
    assert.equal(found?.Type, 'AWS::CloudWatch::Alarm', `no alarm ${logicalId}`);
    return found.Properties as {
      AlarmName: string;
      Namespace: string;
      MetricName: string;
      Dimensions: { Name: string; Value: unknown }[];
      Statistic: string;
      Threshold: number;
      Period: number;
      EvaluationPeriods: number;
      DatapointsToAlarm: number;
      AlarmDescription: string;
      ComparisonOperator: string;
      TreatMissingData: string;
      AlarmActions?: unknown;
    };
  };
  const dimensionsOf = (logicalId: string) =>
    Object.fromEntries(alarmProps(logicalId).Dimensions.map((d) => [d.Name, d.Value]));
  const alarms = () =>
    Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
  /** What the worker's metrics carry (lib/hosts/lambda-metrics.ts, EKS_WORKER_STAGE). */
  const workerDimensions = { service: serviceName, stage: packageOptions.stage };

  before(async () => {
    ({ template } = await packageService());
  });

  test('dead-letter queue not empty: its visible messages, at least one', () => {
    const props = alarmProps('HandOffDeadLetterQueueAlarm');
    assert.equal(props.Namespace, 'AWS/SQS');
    assert.equal(props.MetricName, 'ApproximateNumberOfMessagesVisible');
    assert.deepEqual(dimensionsOf('HandOffDeadLetterQueueAlarm'), {
      QueueName: { 'Fn::GetAtt': ['HandOffDeadLetterQueue', 'QueueName'] },
    });
    assert.equal(props.Statistic, 'Maximum');
    assert.equal(props.Threshold, 1);
    assert.equal(props.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
  });

  test('carriers nearly full: the resumers carry 80 % of resumerMaximumConcurrency x EKS_WORKER_MAX_CARRIED_TASKS', () => {
    const props = alarmProps('CarriersNearlyFullAlarm');
    assert.equal(
      props.AlarmName,
      `eks-activity-worker-${packageOptions.stage}-carriers-nearly-full`,
    );
    assert.equal(props.Namespace, metricsNamespace);
    assert.equal(props.MetricName, MetricName.CarriedTasks);
    assert.deepEqual(dimensionsOf('CarriersNearlyFullAlarm'), workerDimensions);
    // Each invocation reports once a minute: their sum is the stage's carried waits.
    assert.equal(props.Statistic, 'Sum');
    assert.equal(props.Period, 60);
    assert.equal(props.Threshold, 8_000, '80 % of 10 x 1,000');
    assert.equal(props.EvaluationPeriods, 2);
  });

  test('waits not carried: a visible hand-off message in 2 of 2 one-minute periods', () => {
    const props = alarmProps('HandOffWaitsNotCarriedAlarm');
    assert.equal(
      props.AlarmName,
      `eks-activity-worker-${packageOptions.stage}-handoff-waits-not-carried`,
    );
    assert.equal(props.Namespace, 'AWS/SQS');
    assert.equal(props.MetricName, 'ApproximateNumberOfMessagesVisible');
    assert.deepEqual(dimensionsOf('HandOffWaitsNotCarriedAlarm'), {
      QueueName: { 'Fn::GetAtt': ['HandOffQueue', 'QueueName'] },
    });
    assert.equal(props.Statistic, 'Maximum');
    assert.equal(props.Threshold, 1);
    assert.equal(props.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    assert.equal(props.Period, 60);
    assert.equal(props.EvaluationPeriods, 2);
    assert.equal(props.DatapointsToAlarm, 2);
    // What to do about it is in the alarm itself.
    for (const advice of [
      'resumerMaximumConcurrency',
      'EKS_WORKER_MAX_CARRIED_TASKS',
      'replicas',
      'heartbeat',
    ]) {
      assert.match(props.AlarmDescription, new RegExp(advice), advice);
    }
  });

  test('no alarm or dashboard line on the age of the oldest message (carried waits live for hours)', () => {
    assert.equal(template.Resources.HandOffQueueBacklogAlarm, undefined);
    for (const [id, r] of alarms()) {
      assert.notEqual(r.Properties.MetricName, 'ApproximateAgeOfOldestMessage', id);
    }
    const dashboard = template.Resources.Dashboard;
    assert.ok(dashboard);
    const body = (dashboard.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    assert.doesNotMatch(body, /ApproximateAgeOfOldestMessage/);
    assert.match(body, /ApproximateNumberOfMessagesNotVisible/);
  });

  for (const [alarm, fn] of [
    ['PollerErrorsAlarm', 'PollerLambdaFunction'],
    ['ResumerErrorsAlarm', 'ResumerLambdaFunction'],
  ] as const) {
    test(`${alarm}: Lambda Errors of ${fn}`, () => {
      const props = alarmProps(alarm);
      assert.equal(props.Namespace, 'AWS/Lambda');
      assert.equal(props.MetricName, 'Errors');
      assert.deepEqual(dimensionsOf(alarm), { FunctionName: { Ref: fn } });
      assert.equal(props.Statistic, 'Sum');
      assert.equal(props.Threshold, 1);
    });
  }

  test('worker metrics: EKS.WorkerError failures, heartbeat failures, answers not delivered', () => {
    assert.deepEqual(dimensionsOf('WorkerErrorTasksAlarm'), {
      ...workerDimensions,
      ErrorName: 'EKS.WorkerError',
    });
    assert.equal(alarmProps('WorkerErrorTasksAlarm').MetricName, MetricName.TasksFailed);
    assert.equal(alarmProps('HeartbeatFailuresAlarm').MetricName, MetricName.HeartbeatFailures);
    assert.equal(alarmProps('AnswersLostAlarm').MetricName, MetricName.AnswersLost);
    for (const id of ['HeartbeatFailuresAlarm', 'AnswersLostAlarm']) {
      assert.deepEqual(dimensionsOf(id), workerDimensions, id);
    }
  });

  test('every alarm on a worker metric names a metric and dimension set the worker emits', () => {
    const emitted = new Set<string>(Object.values(MetricName));
    const workerAlarms = alarms().filter(([, r]) => r.Properties.Namespace === metricsNamespace);
    assert.ok(workerAlarms.length >= 3);
    for (const [id] of workerAlarms) {
      assert.ok(emitted.has(alarmProps(id).MetricName), id);
      const { ErrorName: _errorName, ...rest } = dimensionsOf(id);
      assert.deepEqual(rest, workerDimensions, id);
    }
  });

  test('pick-up: one alarm per activity on ActivityScheduleTime over pickupAlarmSeconds', () => {
    const activities = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::StepFunctions::Activity')
      .map(([id]) => id);
    assert.equal(activities.length, 15);
    for (const activity of activities) {
      const id = `${activity}PickupAlarm`;
      const props = alarmProps(id);
      assert.equal(props.Namespace, 'AWS/States');
      assert.equal(props.MetricName, 'ActivityScheduleTime');
      assert.deepEqual(dimensionsOf(id), { ActivityArn: { Ref: activity } });
      assert.equal(props.Statistic, 'Maximum');
      assert.equal(props.Threshold, 120_000, 'the default 120 s, in milliseconds');
    }
    assert.equal(alarms().length, 8 + 15);
  });

  test('alarms notify nobody without alarmTopicArn; every alarm notifies the topic given', () => {
    for (const [id, r] of alarms()) {
      assert.equal(r.Properties.AlarmActions, undefined, id);
      assert.equal(r.Properties.TreatMissingData, 'notBreaching', id);
    }
    const topic = 'arn:aws:sns:us-east-1:111122223333:ops';
    const withTopic = describeMonitoring({
      stage: 'x',
      pickupAlarmSeconds: 60,
      alarmTopicArn: topic,
    }).resources.Resources;
    const alarmsWithTopic = Object.values(withTopic).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm',
    );
    assert.equal(alarmsWithTopic.length, 23);
    for (const r of alarmsWithTopic) {
      assert.deepEqual(r.Properties.AlarmActions, [topic]);
      assert.deepEqual(r.Properties.OKActions, [topic]);
    }
  });

  test('dashboard: every worker metric, with the stage; every reference resolves', () => {
    const dashboard = template.Resources.Dashboard;
    assert.equal(dashboard?.Type, 'AWS::CloudWatch::Dashboard');
    assert.equal(dashboard.Properties.DashboardName, `eks-activity-worker-${packageOptions.stage}`);
    const body = (dashboard.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    const parsed = JSON.parse(body) as { widgets: { properties: { metrics: unknown[][] } }[] };
    const lines = parsed.widgets.flatMap((widget) => widget.properties.metrics);
    const workerLines = lines.filter((line) => line[0] === metricsNamespace);
    for (const name of Object.values(MetricName)) {
      assert.ok(
        workerLines.some((line) => line[1] === name),
        `${name} is on the dashboard`,
      );
    }
    for (const line of workerLines) {
      assert.deepEqual(line.slice(2, 6), ['service', serviceName, 'stage', packageOptions.stage]);
    }
    // Fn::Sub references: pseudo parameters or resources of the template (with an attribute).
    const references = [...body.matchAll(/\$\{([^}]+)\}/g)].map((match) => match[1] ?? '');
    assert.ok(references.length > 15);
    for (const reference of references) {
      if (reference.startsWith('AWS::')) continue;
      const logicalId = reference.split('.')[0] ?? '';
      assert.ok(template.Resources[logicalId], `\${${reference}} names a resource`);
    }
  });

  test('a saved Logs Insights query finds a task’s lines by workerName in both log groups', () => {
    const query = template.Resources.TaskLogsQuery;
    assert.equal(query?.Type, 'AWS::Logs::QueryDefinition');
    assert.deepEqual(query.Properties.LogGroupNames, [
      { Ref: 'PollerLogGroup' },
      { Ref: 'ResumerLogGroup' },
    ]);
    assert.match(String(query.Properties.QueryString), /\| filter workerName = "/);
    for (const group of ['PollerLogGroup', 'ResumerLogGroup']) {
      assert.equal(template.Resources[group]?.Type, 'AWS::Logs::LogGroup');
    }
  });

  test('outputs the dashboard URL; the functions get the stage for the metrics', () => {
    assert.match(
      JSON.stringify(template.Outputs.DashboardUrl?.Value),
      /dashboards:name=\$\{Dashboard\}/,
    );
    for (const fn of ['PollerLambdaFunction', 'ResumerLambdaFunction']) {
      const props = template.Resources[fn]?.Properties ?? {};
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.equal(env.EKS_WORKER_STAGE, packageOptions.stage, fn);
    }
  });
});

describe('IAM scopes and the policy (infra/serverless/scopes.cjs)', () => {
  const { describeScopes } = require('../../infra/serverless/scopes.cjs') as {
    describeScopes(options: Record<string, unknown>): Record<string, unknown>;
  };
  const seedPolicy = join(projectDir, 'infra/policies/seed-examples.yaml');
  const seedRoles = [
    'arn:aws:iam::123456789012:role/MyEKSClusterRole',
    'arn:aws:iam::123456789012:role/MyFargatePodExecutionRole',
    'arn:aws:iam::123456789012:role/MyNodeInstanceRole',
  ];
  const eksArn = (kind: string, rest: string) => sub(`arn:{P}:eks:{R}:{A}:${kind}/${rest}`);

  test('from a policy file: cluster ARNs from its clusters, PassRole on its passRoles only', () => {
    const scopes = describeScopes({ stage: 'prod', policyFile: seedPolicy });
    assert.deepEqual(scopes.clusterArns, [eksArn('cluster', 'MyCluster')]);
    assert.deepEqual(scopes.nodegroupArns, [eksArn('nodegroup', 'MyCluster/*')]);
    assert.deepEqual(scopes.fargateProfileArns, [eksArn('fargateprofile', 'MyCluster/*')]);
    assert.deepEqual(scopes.passRoleStatement, {
      Sid: 'PassRolesToEksOnly',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: seedRoles,
      Condition: { StringEquals: { 'iam:PassedToService': 'eks.amazonaws.com' } },
    });
    assert.deepEqual((scopes.nodeRoleChecksStatement as Statement).Resource, seedRoles);
    // The functions enforce the same policy.
    const policy = JSON.parse(scopes.policyJson as string);
    assert.deepEqual(
      policy.rules.map((rule: { name: string }) => rule.name),
      ['seed-jobs', 'seed-calls', 'seed-control-plane'],
    );
  });

  test('a policy that passes no role denies PassRole outright (IAM rejects an empty Resource)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scopes-'));
    const file = join(dir, 'jobs-only.yaml');
    writeFileSync(
      file,
      'rules: [{ activities: ["*-eks-runJob*"], clusters: [batch-*], namespaces: [jobs] }]',
    );
    const scopes = describeScopes({ stage: 'prod', policyFile: file });
    assert.deepEqual(scopes.clusterArns, [eksArn('cluster', 'batch-*')]);
    assert.deepEqual(scopes.passRoleStatement, {
      Sid: 'PassRolesToEksOnly',
      Effect: 'Deny',
      Action: ['iam:PassRole'],
      Resource: '*',
    });
    assert.equal((scopes.nodeRoleChecksStatement as Statement).Effect, 'Deny');
  });

  test('explicit patterns win over the policy', () => {
    const scopes = describeScopes({
      stage: 'prod',
      policyFile: seedPolicy,
      clusterNamePattern: 'team-a-*',
      passRoleNamePattern: 'eks-*',
    });
    assert.deepEqual(scopes.clusterArns, [eksArn('cluster', 'team-a-*')]);
    assert.deepEqual((scopes.passRoleStatement as Statement).Resource, [
      sub('arn:{P}:iam::{A}:role/eks-*'),
    ]);
  });

  test('no policy and no patterns: a production stage fails, any other warns loudly and gets *', () => {
    for (const stage of ['prod', 'production', 'prd', 'live', 'prod-eu']) {
      assert.throws(
        () => describeScopes({ stage }),
        /a production stage needs narrow scopes/,
        stage,
      );
    }
    const warnings: string[] = [];
    const scopes = describeScopes({ stage: 'dev', warn: (text: string) => warnings.push(text) });
    assert.deepEqual(scopes.clusterArns, [clusterArn]);
    assert.deepEqual((scopes.passRoleStatement as Statement).Resource, [anyRoleArn]);
    assert.equal(scopes.policyJson, '');
    assert.match(
      warnings.join('\n'),
      /WARNING: stage 'dev' sets no policyFile.*\n.*EVERY EKS cluster/,
    );
  });

  test('an invalid policy file fails packaging with every problem listed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scopes-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'rules: [{ activities: [], operations: [reboot], passRoles: [Admin] }]');
    assert.throws(
      () => describeScopes({ stage: 'dev', policyFile: file }),
      (error: Error) =>
        /activities: must not be empty/.test(error.message) &&
        /operations\[0\]: 'reboot'/.test(error.message) &&
        /passRoles\[0\]: 'Admin' is not an IAM role ARN/.test(error.message),
    );
  });

  test('serverless print --stage prod with the seed policy: IAM and EKS_WORKER_POLICY derived from it', async () => {
    const printed = (await printService([
      '--stage',
      'prod',
      `--param=policyFile=${seedPolicy}`,
    ])) as {
      provider: {
        environment: Record<string, string>;
        iam: { role: { statements: Statement[] } };
      };
    };
    const printedStatements = printed.provider.iam.role.statements;
    const printedBySid = (sid: string) => printedStatements.find((s) => s.Sid === sid);
    assert.deepEqual(printedBySid('EksClusters')?.Resource, [eksArn('cluster', 'MyCluster')]);
    assert.deepEqual(printedBySid('PassRolesToEksOnly')?.Resource, seedRoles);
    assert.deepEqual(
      JSON.parse(printed.provider.environment.EKS_WORKER_POLICY ?? '{}').rules.length,
      3,
    );
    assert.doesNotMatch(JSON.stringify(printedStatements), /cluster\/\*|role\/\*/);
  });

  test('serverless print --stage prod without a policy or patterns fails, saying what to set', async () => {
    await assert.rejects(printService(['--stage', 'prod']), /production stage needs narrow scopes/);
  });
});
