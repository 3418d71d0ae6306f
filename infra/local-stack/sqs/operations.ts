import { createHash } from 'node:crypto';
import { computedAttributeNames, validateQueueAttributes } from './attributes.ts';
import { SqsError, sqsErrors } from './errors.ts';
import { type MessageAttributeValue, md5OfMessageAttributes } from './md5.ts';
import type { Queue, QueueStore, StoredMessage } from './queues.ts';

/** What an operation knows about its call besides the input. */
export interface CallContext {
  /** Aborted when the client hangs up or the server closes, ending a held long poll. */
  abort: AbortSignal;
  /** The caller's access key id: SQS reports it as a message's SenderId. */
  callerId: string;
}

/** An operation takes the JSON 1.0 input shape and answers the JSON 1.0 output shape. */
export type Operation = (
  input: Record<string, unknown>,
  context: CallContext,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface OperationSettings {
  purgeCooldownMs: number;
}

const queueNamePattern = /^[A-Za-z0-9_-]{1,80}$/;
const batchEntryIdPattern = /^[A-Za-z0-9_-]{1,80}$/;
const maxBatchEntries = 10;
const systemAttributeNames = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
] as const;

/** The SQS operations over one store, keyed by the name in `X-Amz-Target` / `Action`. */
export const makeOperations = (
  store: QueueStore,
  settings: OperationSettings,
): Record<string, Operation> => {
  const queueOf = (input: Record<string, unknown>): Queue =>
    store.findByUrl(requireString(input, 'QueueUrl'));

  return {
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
        throw sqsErrors.invalidParameterValue(
          'The name of a standard queue cannot end with .fifo.',
        );
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

    SendMessage: (input, context) => {
      const queue = queueOf(input);
      const message = store.send(queue, parseNewMessage(queue, input, context.callerId, ''));
      return sendResult(message);
    },

    SendMessageBatch: (input, context) => {
      const queue = queueOf(input);
      const entries = batchEntries(input.Entries);
      const maxBytes = Number(queue.attributes.MaximumMessageSize);
      const totalBytes = entries.reduce((sum, entry) => sum + messageBytes(entry), 0);
      if (totalBytes > maxBytes) throw sqsErrors.batchRequestTooLong(maxBytes);
      const Successful: Record<string, unknown>[] = [];
      const Failed: Record<string, unknown>[] = [];
      for (const entry of entries) {
        try {
          const message = store.send(
            queue,
            parseNewMessage(queue, entry, context.callerId, 'Entries.'),
          );
          Successful.push({ Id: entry.Id, ...sendResult(message) });
        } catch (error) {
          Failed.push(batchFailure(entry.Id, error));
        }
      }
      return { Successful, Failed };
    },

    ReceiveMessage: async (input, context) => {
      const queue = queueOf(input);
      const maxMessages =
        optionalInteger(
          input,
          'MaxNumberOfMessages',
          1,
          10,
          'Must be between 1 and 10, if provided.',
        ) ?? 1;
      const visibilitySeconds = optionalInteger(input, 'VisibilityTimeout', 0, 43200);
      const waitSeconds = optionalInteger(input, 'WaitTimeSeconds', 0, 20);
      const systemNames = [
        ...stringList(input.AttributeNames, 'AttributeNames'),
        ...stringList(input.MessageSystemAttributeNames, 'MessageSystemAttributeNames'),
      ];
      const attributeFilters = stringList(input.MessageAttributeNames, 'MessageAttributeNames');
      const received = await store.receive(
        queue,
        { maxMessages, visibilitySeconds, waitSeconds },
        context.abort,
      );
      if (received.length === 0) return {};
      return {
        Messages: received.map(({ message, receiptHandle }) =>
          toOutputMessage(message, receiptHandle, systemNames, attributeFilters),
        ),
      };
    },

    DeleteMessage: (input) => {
      store.deleteMessage(queueOf(input), requireString(input, 'ReceiptHandle'));
      return {};
    },

    DeleteMessageBatch: (input) => {
      const queue = queueOf(input);
      return runBatch(batchEntries(input.Entries), (entry) =>
        store.deleteMessage(queue, requireString(entry, 'ReceiptHandle')),
      );
    },

    ChangeMessageVisibility: (input) => {
      const queue = queueOf(input);
      const seconds = requireInteger(input, 'VisibilityTimeout', 0, 43200);
      store.changeVisibility(queue, requireString(input, 'ReceiptHandle'), seconds);
      return {};
    },

    ChangeMessageVisibilityBatch: (input) => {
      const queue = queueOf(input);
      return runBatch(batchEntries(input.Entries), (entry) =>
        store.changeVisibility(
          queue,
          requireString(entry, 'ReceiptHandle'),
          requireInteger(entry, 'VisibilityTimeout', 0, 43200),
        ),
      );
    },
  };
};

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

const sendResult = (message: StoredMessage): Record<string, unknown> => ({
  MessageId: message.messageId,
  MD5OfMessageBody: message.md5OfBody,
  ...(message.md5OfMessageAttributes
    ? { MD5OfMessageAttributes: message.md5OfMessageAttributes }
    : {}),
  ...(message.sequenceNumber ? { SequenceNumber: message.sequenceNumber } : {}),
});

// XML 1.0's characters: SQS refuses anything else in a body or string attribute.
const invalidCharacter = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const parseNewMessage = (
  queue: Queue,
  input: Record<string, unknown>,
  senderId: string,
  memberPrefix: string,
) => {
  const body = input.MessageBody;
  if (typeof body !== 'string' || body === '')
    throw sqsErrors.missingParameter(`${memberPrefix}MessageBody`);
  if (invalidCharacter.test(body)) throw sqsErrors.invalidMessageContents();
  const messageAttributes = parseMessageAttributes(input.MessageAttributes);
  const maxBytes = Number(queue.attributes.MaximumMessageSize);
  if (messageBytes(input) > maxBytes) {
    throw sqsErrors.invalidParameterValue(
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`,
    );
  }
  const delaySeconds = optionalInteger(input, 'DelaySeconds', 0, 900);
  const groupId = optionalString(input, 'MessageGroupId');
  let deduplicationId = optionalString(input, 'MessageDeduplicationId');
  if (queue.fifo) {
    if (delaySeconds !== undefined && delaySeconds !== 0) {
      throw sqsErrors.invalidParameterValue(
        `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`,
      );
    }
    if (groupId === undefined) throw sqsErrors.missingParameter('MessageGroupId');
    if (deduplicationId === undefined) {
      if (queue.attributes.ContentBasedDeduplication !== 'true') {
        throw sqsErrors.invalidParameterValue(
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
      deduplicationId = sha256Hex(body);
    }
  } else if (deduplicationId !== undefined) {
    throw sqsErrors.invalidParameterValue(
      'The request include parameter MessageDeduplicationId that is not valid for this queue type',
    );
  }
  const systemAttributes = parseMessageAttributes(input.MessageSystemAttributes);
  return {
    body,
    messageAttributes,
    delaySeconds,
    senderId,
    awsTraceHeader: systemAttributes.AWSTraceHeader?.StringValue,
    groupId,
    deduplicationId,
  };
};

/** Content-based deduplication uses the SHA-256 of the body as the deduplication id. */
const sha256Hex = (body: string): string => createHash('sha256').update(body).digest('hex');

const messageBytes = (input: Record<string, unknown>): number => {
  let total = Buffer.byteLength(typeof input.MessageBody === 'string' ? input.MessageBody : '');
  const attributes = input.MessageAttributes;
  if (attributes && typeof attributes === 'object') {
    for (const [name, value] of Object.entries(
      attributes as Record<string, Record<string, unknown>>,
    )) {
      total += Buffer.byteLength(name) + Buffer.byteLength(String(value?.DataType ?? ''));
      if (typeof value?.StringValue === 'string') total += Buffer.byteLength(value.StringValue);
      if (typeof value?.BinaryValue === 'string')
        total += Buffer.from(value.BinaryValue, 'base64').length;
    }
  }
  return total;
};

/** Message attributes as JSON carries them: binary values base64-encoded. */
const parseMessageAttributes = (value: unknown): Record<string, MessageAttributeValue> => {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw sqsErrors.invalidParameterValue('MessageAttributes must be a map.');
  }
  const entries = Object.entries(value as Record<string, Record<string, unknown>>);
  if (entries.length > 10) {
    throw sqsErrors.invalidParameterValue(
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`,
    );
  }
  const parsed: Record<string, MessageAttributeValue> = {};
  for (const [name, attribute] of entries) {
    if (
      !/^[A-Za-z0-9_.-]{1,256}$/.test(name) ||
      name.startsWith('AWS.') ||
      name.startsWith('Amazon.')
    ) {
      throw sqsErrors.invalidParameterValue(`Message attribute name '${name}' is invalid.`);
    }
    const dataType = attribute?.DataType;
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw sqsErrors.invalidParameterValue(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    if (dataType.startsWith('Binary')) {
      if (typeof attribute?.BinaryValue !== 'string') {
        throw sqsErrors.invalidParameterValue(
          `The message attribute '${name}' with type 'Binary' must use field 'Binary'.`,
        );
      }
      parsed[name] = {
        DataType: dataType,
        BinaryValue: Buffer.from(attribute.BinaryValue, 'base64'),
      };
    } else {
      const stringValue = attribute?.StringValue;
      if (typeof stringValue !== 'string' || stringValue === '') {
        throw sqsErrors.invalidParameterValue(
          `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
        );
      }
      if (invalidCharacter.test(stringValue)) throw sqsErrors.invalidMessageContents();
      if (
        dataType.startsWith('Number') &&
        !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(stringValue)
      ) {
        throw sqsErrors.invalidParameterValue(
          `Can't cast the value of message (user) attribute '${name}' to a number.`,
        );
      }
      parsed[name] = { DataType: dataType, StringValue: stringValue };
    }
  }
  return parsed;
};

const toOutputMessage = (
  message: StoredMessage,
  receiptHandle: string,
  systemNames: readonly string[],
  attributeFilters: readonly string[],
): Record<string, unknown> => {
  const wantsAll = systemNames.includes('All');
  const system: Record<string, string | undefined> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAtMs),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAtMs ?? message.sentAtMs),
    SequenceNumber: message.sequenceNumber,
    MessageDeduplicationId: message.deduplicationId,
    MessageGroupId: message.groupId,
    AWSTraceHeader: message.awsTraceHeader,
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
  };
  const attributes: Record<string, string> = {};
  for (const name of systemAttributeNames) {
    const value = system[name];
    if (value !== undefined && (wantsAll || systemNames.includes(name))) attributes[name] = value;
  }
  const selected: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.messageAttributes)) {
    if (matchesAttributeFilter(name, attributeFilters)) selected[name] = value;
  }
  const selectedNames = Object.keys(selected);
  return {
    MessageId: message.messageId,
    ReceiptHandle: receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
    ...(selectedNames.length > 0
      ? {
          // The digest covers only the attributes returned, so the SDK can check it.
          MD5OfMessageAttributes: md5OfMessageAttributes(selected),
          MessageAttributes: Object.fromEntries(
            selectedNames.map((name) => {
              const value = selected[name] as MessageAttributeValue;
              return [
                name,
                value.BinaryValue !== undefined
                  ? {
                      DataType: value.DataType,
                      BinaryValue: Buffer.from(value.BinaryValue).toString('base64'),
                    }
                  : { DataType: value.DataType, StringValue: value.StringValue },
              ];
            }),
          ),
        }
      : {}),
  };
};

const matchesAttributeFilter = (name: string, filters: readonly string[]): boolean =>
  filters.some(
    (filter) =>
      filter === 'All' ||
      filter === '.*' ||
      filter === name ||
      (filter.endsWith('.*') && name.startsWith(filter.slice(0, -1))),
  );

type BatchEntry = Record<string, unknown> & { Id: string };

const batchEntries = (value: unknown): BatchEntry[] => {
  if (!Array.isArray(value) || value.length === 0) throw sqsErrors.emptyBatchRequest();
  if (value.length > maxBatchEntries) throw sqsErrors.tooManyEntriesInBatchRequest(value.length);
  const seen = new Set<string>();
  for (const entry of value as Record<string, unknown>[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !batchEntryIdPattern.test(id))
      throw sqsErrors.invalidBatchEntryId();
    if (seen.has(id)) throw sqsErrors.batchEntryIdsNotDistinct(id);
    seen.add(id);
  }
  return value as BatchEntry[];
};

const runBatch = (
  entries: readonly BatchEntry[],
  run: (entry: BatchEntry) => void,
): Record<string, unknown> => {
  const Successful: Record<string, unknown>[] = [];
  const Failed: Record<string, unknown>[] = [];
  for (const entry of entries) {
    try {
      run(entry);
      Successful.push({ Id: entry.Id });
    } catch (error) {
      Failed.push(batchFailure(entry.Id, error));
    }
  }
  return { Successful, Failed };
};

const batchFailure = (id: string, error: unknown): Record<string, unknown> => {
  if (!(error instanceof SqsError)) throw error;
  return {
    Id: id,
    SenderFault: error.fault === 'Sender',
    Code: error.queryCode,
    Message: error.message,
  };
};

const requireString = (input: Record<string, unknown>, name: string): string => {
  const value = input[name];
  if (typeof value !== 'string' || value === '') throw sqsErrors.missingParameter(name);
  return value;
};

const optionalString = (input: Record<string, unknown>, name: string): string | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw sqsErrors.invalidParameterValue(`Value for parameter ${name} is invalid.`);
  return value;
};

const optionalInteger = (
  input: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  reason = `Must be between ${min} and ${max}.`,
): number | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === 'number' ? value : Number.NaN;
  if (!(Number.isInteger(parsed) && parsed >= min && parsed <= max)) {
    throw sqsErrors.invalidParameterValue(
      `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`,
    );
  }
  return parsed;
};

const requireInteger = (
  input: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number => {
  const value = optionalInteger(input, name, min, max);
  if (value === undefined) throw sqsErrors.missingParameter(name);
  return value;
};

const stringMap = (value: unknown, name: string): Record<string, string> => {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw sqsErrors.invalidParameterValue(`Value for parameter ${name} is invalid.`);
  }
  return value as Record<string, string>;
};

const stringList = (value: unknown, name: string): string[] => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw sqsErrors.invalidParameterValue(`Value for parameter ${name} is invalid.`);
  }
  return value as string[];
};
