/**
 * The hand-off queue, its dead-letter queue and their TLS-only policy, as CloudFormation: the one
 * definition serverless.yml (Lambda) and serverless.process.yml (process mode) both include, so
 * the two deployments never disagree on how long a wait stays hidden or when it is given up.
 *
 * What lives in the queue (lib/worker/carrier.ts): every `.sync` wait, parked once its Job or EKS
 * operation exists, as a message that a carrier (a process replica, or a Lambda resumer
 * invocation) holds in flight under a lease: ReceiveMessage with VisibilityTimeout =
 * EKS_WORKER_LEASE_SECONDS (30 s), renewed every half lease. A carrier deletes the message once
 * the task is answered, and at a stop sends a new one and deletes the old (the receive count starts
 * again); a carrier that dies just stops renewing, and the message is visible again within a lease.
 *
 * Usage: `${file(./infra/serverless/hand-off-queue.cjs):resources}` under `resources:`. CommonJS
 * because the Framework `require`s `${file(...)}` sources (see activities.cjs).
 */

/**
 * The queue's own visibility timeout: only what the carriers do not set themselves. Every carrier
 * receive names its lease, so this applies to the Lambda event source's receives alone, and Lambda
 * refuses an SQS event source whose queue hides a message for less than the function's timeout:
 * 900 s, the resumer's timeout and Lambda's longest, so any resumer timeout is accepted.
 * Not AWS's "six times the timeout" any more (5,400 s): that keeps a batch held back by a throttled
 * function from being redelivered, but here a record the event source holds without a handler
 * running on it (throttled, or its invocation crashed before the handler took it) is a wait that
 * nobody heartbeats, and it must not stay hidden for 90 minutes. The resumer shortens every record
 * it gets to a lease at once (carrier.carry), so 900 s, the least Lambda accepts, is only the worst
 * case of a record lost between the event source and the handler.
 */
const visibilityTimeoutSeconds = 900;

/**
 * Receives before SQS moves a message to the dead-letter queue. A healthy wait adds none across
 * hand-backs (each is a new message); a kill, a crashed invocation or a lost lease adds one
 * without a hand-back, and a rollout can do that to the same wait several times. 10 leaves room
 * for that, while a poison message (one no carrier can read) still reaches the DLQ within 10
 * leases: about 5 minutes at the default 30 s lease.
 */
const maxReceiveCount = 10;

/** SQS's longest retention, 14 days. */
const retentionSeconds = 1_209_600;

/** The resources and outputs for one service and stage. */
const describeHandOffQueue = ({ service, stage }) => ({
  Resources: {
    // Hand-off messages carry task tokens: encrypted at rest (SSE-SQS), TLS only (below).
    HandOffQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${service}-${stage}-handoff`,
        SqsManagedSseEnabled: true,
        VisibilityTimeout: visibilityTimeoutSeconds,
        // A task token lives as long as its execution (up to a year), and a carried wait is one
        // message for as long as it is carried; keep messages as long as SQS allows, in case
        // carriers are down for a while.
        MessageRetentionPeriod: retentionSeconds,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': ['HandOffDeadLetterQueue', 'Arn'] },
          maxReceiveCount,
        },
      },
    },
    HandOffDeadLetterQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${service}-${stage}-handoff-dlq`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: retentionSeconds,
      },
    },
    HandOffQueuesTlsOnly: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: 'HandOffQueue' }, { Ref: 'HandOffDeadLetterQueue' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 'sqs:*',
              Resource: [
                { 'Fn::GetAtt': ['HandOffQueue', 'Arn'] },
                { 'Fn::GetAtt': ['HandOffDeadLetterQueue', 'Arn'] },
              ],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
    },
  },
  Outputs: {
    HandOffQueueUrl: {
      Description: 'URL of the hand-off queue (EKS_WORKER_HANDOFF_QUEUE_URL)',
      Value: { Ref: 'HandOffQueue' },
    },
    HandOffDeadLetterQueueUrl: {
      Description: `Hand-offs received ${maxReceiveCount} times without being settled; redrive them once the cause is fixed`,
      Value: { Ref: 'HandOffDeadLetterQueue' },
    },
  },
});

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  return { resources: describeHandOffQueue({ service, stage }) };
};
module.exports.describeHandOffQueue = describeHandOffQueue;
module.exports.visibilityTimeoutSeconds = visibilityTimeoutSeconds;
module.exports.maxReceiveCount = maxReceiveCount;
