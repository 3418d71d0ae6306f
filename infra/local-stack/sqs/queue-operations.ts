/**
 * The queue-management actions: creating, finding, listing, configuring, purging and deleting
 * queues.
 */
import { computedAttributeNames, validateQueueAttributes } from './attributes.ts';
import { sqsErrors } from './errors.ts';
import { optionalInteger, optionalString, requireString, stringList, stringMap } from './input.ts';
import type { Operation, OperationSettings } from './operations.ts';
import type { Queue, QueueStore } from './queues.ts';

const queueNamePattern = /^[A-Za-z0-9_-]{1,80}$/;

export const queueOperations = (
  store: QueueStore,
  settings: OperationSettings,
  queueOf: (input: Record<string, unknown>) => Queue,
): Record<string, Operation> => ({
  CreateQueue: (input) => {
    const name = requireString(input, 'QueueName');
    const attributes = stringMap(input.Attributes, 'Attributes');
    const fifo = attributes.FifoQueue === 'true';
    const baseName = fifo ? name.replace(/\.fifo$/, '') : name;
    if (!queueNamePattern.test(baseName) || (fifo && !name.endsWith('.fifo'))) {
      throw sqsErrors.invalidParameterValue(
        fifo
          ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    if (!fifo && name.endsWith('.fifo')) {
      throw sqsErrors.invalidParameterValue('The name of a standard queue cannot end with .fifo.');
    }
    const normalised = validateQueueAttributes(attributes, {
      creating: true,
      fifo,
      deadLetterTargetExists: (arn) => store.findByArn(arn) !== undefined,
    });
    const existing = store.findByName(name);
    if (existing) {
      // Creating again is idempotent only when every given attribute matches.
      const differs = Object.entries(normalised).some(
        ([key, value]) =>
          (existing.attributes[key] ?? (key === 'FifoQueue' ? 'false' : undefined)) !== value,
      );
      if (differs) throw sqsErrors.queueNameExists(name);
      return { QueueUrl: existing.url };
    }
    return { QueueUrl: store.create(name, normalised).url };
  },

  GetQueueUrl: (input) => {
    const name = requireString(input, 'QueueName');
    const owner = optionalString(input, 'QueueOwnerAWSAccountId');
    const queue = store.findByName(name);
    if (!queue || (owner !== undefined && owner !== store.accountId)) {
      throw sqsErrors.queueDoesNotExist();
    }
    return { QueueUrl: queue.url };
  },

  ListQueues: (input) => {
    const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
    const maxResults = optionalInteger(input, 'MaxResults', 1, 1000);
    const start = Number(optionalString(input, 'NextToken') ?? 0);
    const urls = store
      .list()
      .filter((queue) => queue.name.startsWith(prefix))
      .map((queue) => queue.url);
    // Without MaxResults SQS answers at most 1,000 and no token.
    const page = urls.slice(start, start + (maxResults ?? 1000));
    const next = maxResults !== undefined && start + maxResults < urls.length;
    return {
      ...(page.length > 0 ? { QueueUrls: page } : {}),
      ...(next ? { NextToken: String(start + (maxResults ?? 0)) } : {}),
    };
  },

  ListDeadLetterSourceQueues: (input) => {
    const queue = queueOf(input);
    const sources = store
      .list()
      .filter((q) => q.attributes.RedrivePolicy?.includes(`"${queue.arn}"`))
      .map((q) => q.url);
    return { queueUrls: sources };
  },

  GetQueueAttributes: (input) => {
    const queue = queueOf(input);
    const requested = stringList(input.AttributeNames, 'AttributeNames');
    const all = allAttributes(store, queue);
    const names = requested.includes('All') ? Object.keys(all) : requested;
    const attributes: Record<string, string> = {};
    for (const name of names) {
      if (!(name in all)) {
        if (isKnownAttributeName(name)) continue;
        throw sqsErrors.invalidAttributeName(name);
      }
      attributes[name] = all[name] as string;
    }
    return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
  },

  SetQueueAttributes: (input) => {
    const queue = queueOf(input);
    const attributes = stringMap(input.Attributes, 'Attributes');
    const normalised = validateQueueAttributes(attributes, {
      creating: false,
      fifo: queue.fifo,
      deadLetterTargetExists: (arn) => store.findByArn(arn) !== undefined,
    });
    store.setAttributes(queue, normalised);
    return {};
  },

  DeleteQueue: (input) => {
    store.delete(queueOf(input));
    return {};
  },

  PurgeQueue: (input) => {
    store.purge(queueOf(input), settings.purgeCooldownMs);
    return {};
  },
});

const allAttributes = (store: QueueStore, queue: Queue): Record<string, string> => {
  const counts = store.count(queue);
  return {
    ...queue.attributes,
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAtMs / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAtMs / 1000)),
    ...(queue.fifo ? { FifoQueue: 'true' } : {}),
  };
};

const knownAttributeNames = new Set<string>([
  ...computedAttributeNames,
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
]);
const isKnownAttributeName = (name: string): boolean => knownAttributeNames.has(name);
