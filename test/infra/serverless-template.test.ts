/**
 * What `serverless package` produces for AWS: the activities, the two functions, the hand-off
 * queues and least-privilege IAM, read from the packaged CloudFormation template.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, test } from 'node:test';
import { type CfnResource, type CfnTemplate, packageOptions, packageService } from './packaged.ts';

const require = createRequire(import.meta.url);
const { toVpcConfig } = require('../../infra/serverless/vpc.cjs') as {
  toVpcConfig(subnets: string, groups: string): unknown;
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

    test('outputs each activity ARN under its state machine substitution key', () => {
      for (const [logicalId, activity] of activities) {
        const suffix = (activity.Properties.Name as string).replace(/^test-/, '');
        const output = template.Outputs[`ActivityArn_${suffix.replaceAll('-', '_')}`];
        assert.deepEqual(output?.Value, { Ref: logicalId }, suffix);
      }
    });

    test('outputs the hand-off queue URL', () => {
      assert.deepEqual(template.Outputs.HandOffQueueUrl?.Value, { Ref: 'HandOffQueue' });
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

    test('resumer: SQS event source on the hand-off queue reporting batch item failures', () => {
      const mappings = Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
      );
      assert.equal(mappings.length, 1);
      const props = mappings[0]?.Properties ?? {};
      assert.deepEqual(props.EventSourceArn, { 'Fn::GetAtt': ['HandOffQueue', 'Arn'] });
      assert.deepEqual(props.FunctionName, { 'Fn::GetAtt': ['ResumerLambdaFunction', 'Arn'] });
      assert.deepEqual(props.FunctionResponseTypes, ['ReportBatchItemFailures']);
      assert.equal(props.BatchSize, 10);
      assert.deepEqual(props.ScalingConfig, { MaximumConcurrency: 10 });
    });
  });

  describe('hand-off queues', () => {
    test('the queue is encrypted, hides a message longer than six resumer timeouts, keeps 14 days', () => {
      const queue = resource('HandOffQueue').Properties;
      const resumerTimeout = functionNamed('Resumer').Properties.Timeout as number;
      assert.equal(queue.SqsManagedSseEnabled, true);
      assert.ok((queue.VisibilityTimeout as number) >= 6 * resumerTimeout);
      assert.equal(queue.MessageRetentionPeriod, 1_209_600);
    });

    test('a message received 5 times moves to the encrypted dead-letter queue', () => {
      assert.deepEqual(resource('HandOffQueue').Properties.RedrivePolicy, {
        deadLetterTargetArn: { 'Fn::GetAtt': ['HandOffDeadLetterQueue', 'Arn'] },
        maxReceiveCount: 5,
      });
      assert.equal(resource('HandOffDeadLetterQueue').Properties.SqsManagedSseEnabled, true);
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

    test('SQS: send, receive, delete and change visibility on the hand-off queue only', () => {
      const queueArn = { 'Fn::GetAtt': ['HandOffQueue', 'Arn'] };
      const sqs = statements.filter((s) => s.Action.some((a) => a.startsWith('sqs:')));
      assert.deepEqual(sqs.flatMap((s) => s.Action).sort(), [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ]);
      for (const statement of sqs) assert.deepEqual(statement.Resource, [queueArn]);
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
