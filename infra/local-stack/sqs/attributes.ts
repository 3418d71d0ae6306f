import { sqsErrors } from './errors.ts';

/** Queue attributes a caller may set, with SQS's defaults (strings, as the API carries them). */
export const defaultQueueAttributes = {
  DelaySeconds: '0',
  // Raised from 256 KiB to 1 MiB in August 2025; the default followed the maximum.
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true',
} as const;

const integerRanges: Readonly<Record<string, readonly [number, number]>> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1048576],
  MessageRetentionPeriod: [60, 1209600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43200],
  KmsDataKeyReusePeriodSeconds: [60, 86400],
};

const booleanAttributes = new Set(['SqsManagedSseEnabled', 'ContentBasedDeduplication']);
const freeTextAttributes = new Set(['Policy', 'KmsMasterKeyId', 'RedriveAllowPolicy']);
const fifoOnlyAttributes = new Set([
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
]);

/** Read-only attributes SQS computes; GetQueueAttributes answers them, Set refuses them. */
export const computedAttributeNames = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
] as const;

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/**
 * Validates attributes for CreateQueue (`creating`) or SetQueueAttributes the way SQS words its
 * refusals, and returns them normalised (RedrivePolicy re-serialised with a numeric count).
 */
export const validateQueueAttributes = (
  attributes: Readonly<Record<string, string>>,
  context: { creating: boolean; fifo: boolean; deadLetterTargetExists: (arn: string) => boolean },
): Record<string, string> => {
  const normalised: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value !== 'string') throw sqsErrors.invalidAttributeValue(name, 'Not a string.');
    const range = integerRanges[name];
    if (range) {
      const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!(parsed >= range[0] && parsed <= range[1])) {
        throw sqsErrors.invalidAttributeValue(
          name,
          `Reason: Must be an integer from ${range[0]} to ${range[1]}.`,
        );
      }
      normalised[name] = String(parsed);
    } else if (booleanAttributes.has(name)) {
      if (value !== 'true' && value !== 'false') {
        throw sqsErrors.invalidAttributeValue(name, 'Reason: Must be true or false.');
      }
      normalised[name] = value;
    } else if (name === 'RedrivePolicy') {
      normalised[name] = value === '' ? '' : normaliseRedrivePolicy(value, context);
    } else if (name === 'FifoQueue') {
      if (!context.creating) throw sqsErrors.invalidAttributeName(name);
      if (value !== 'true' && value !== 'false') {
        throw sqsErrors.invalidAttributeValue(name, 'Reason: Must be true or false.');
      }
      normalised[name] = value;
    } else if (name === 'DeduplicationScope' || name === 'FifoThroughputLimit') {
      const allowed =
        name === 'DeduplicationScope'
          ? ['messageGroup', 'queue']
          : ['perQueue', 'perMessageGroupId'];
      if (!allowed.includes(value)) {
        throw sqsErrors.invalidAttributeValue(
          name,
          `Reason: Must be one of ${allowed.join(', ')}.`,
        );
      }
      normalised[name] = value;
    } else if (freeTextAttributes.has(name)) {
      normalised[name] = value;
    } else {
      throw sqsErrors.invalidAttributeName(name);
    }
    if (fifoOnlyAttributes.has(name) && !context.fifo) {
      throw sqsErrors.invalidAttributeName(name);
    }
  }
  return normalised;
};

const normaliseRedrivePolicy = (
  value: string,
  context: { deadLetterTargetExists: (arn: string) => boolean },
): string => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw sqsErrors.invalidAttributeValue(
      'RedrivePolicy',
      'Reason: Redrive policy is not a valid JSON map.',
    );
  }
  const policy = (parsed ?? {}) as Record<string, unknown>;
  const arn = policy.deadLetterTargetArn;
  const count = Number(policy.maxReceiveCount);
  if (typeof arn !== 'string' || arn === '') {
    throw sqsErrors.invalidAttributeValue(
      'RedrivePolicy',
      'Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn.',
    );
  }
  if (!(Number.isInteger(count) && count >= 1 && count <= 1000)) {
    throw sqsErrors.invalidAttributeValue(
      'RedrivePolicy',
      'Reason: Invalid value for maxReceiveCount: must be an integer from 1 to 1000.',
    );
  }
  if (!context.deadLetterTargetExists(arn)) {
    throw sqsErrors.invalidParameterValue(
      `Value ${value} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
    );
  }
  return JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: count });
};

export const parseRedrivePolicy = (value: string | undefined): RedrivePolicy | undefined =>
  value ? (JSON.parse(value) as RedrivePolicy) : undefined;
