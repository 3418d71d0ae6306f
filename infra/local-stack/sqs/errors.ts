/**
 * A modelled SQS error. SQS speaks AWS JSON 1.0 in "query compatible" mode: the JSON `__type` names
 * the Smithy shape (`QueueDoesNotExist`) while the `x-amzn-query-error` header carries the legacy
 * query code (`AWS.SimpleQueueService.NonExistentQueue;Sender`) that the SDK copies to `Code` and
 * `Type`, and that the query protocol (the AWS CLI v2.9) reads from its XML `<Code>`.
 */
export class SqsError extends Error {
  /** The Smithy shape name, e.g. `QueueDoesNotExist`; unmodelled names are generic SDK errors. */
  readonly type: string;
  /** The legacy query-protocol code, e.g. `AWS.SimpleQueueService.NonExistentQueue`. */
  readonly queryCode: string;
  readonly statusCode: number;
  /** `Sender` for client faults, `Receiver` for ours. */
  readonly fault: 'Sender' | 'Receiver';

  constructor(
    type: string,
    message: string,
    options: { queryCode?: string; statusCode?: number; fault?: 'Sender' | 'Receiver' } = {},
  ) {
    super(message);
    this.name = 'SqsError';
    this.type = type;
    this.queryCode = options.queryCode ?? type;
    this.statusCode = options.statusCode ?? 400;
    this.fault = options.fault ?? (this.statusCode >= 500 ? 'Receiver' : 'Sender');
  }
}

/** Most SQS-specific errors: the query code is the shape name under `AWS.SimpleQueueService.`. */
const simpleQueueServiceError = (type: string, message: string, statusCode?: number): SqsError =>
  new SqsError(type, message, {
    queryCode: `AWS.SimpleQueueService.${type}`,
    ...(statusCode === undefined ? {} : { statusCode }),
  });

/** The errors the SDK models, with the query codes and statuses from its schema. */
export const sqsErrors = {
  queueDoesNotExist: () =>
    new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', {
      queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
    }),
  queueNameExists: (name: string) =>
    new SqsError(
      'QueueNameExists',
      `A queue already exists with the same name and a different value for attribute(s) of ${name}`,
      { queryCode: 'QueueAlreadyExists' },
    ),
  receiptHandleIsInvalid: (handle: string) =>
    new SqsError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${truncate(handle)}" is not a valid receipt handle.`,
      { statusCode: 404 },
    ),
  messageNotInflight: () =>
    simpleQueueServiceError('MessageNotInflight', 'The message referred to is not in flight.'),
  invalidAttributeName: (name: string) =>
    new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`),
  invalidAttributeValue: (name: string, reason: string) =>
    new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}. ${reason}`),
  invalidParameterValue: (message: string) => new SqsError('InvalidParameterValue', message),
  missingParameter: (name: string) =>
    new SqsError('MissingParameter', `The request must contain the parameter ${name}.`),
  invalidMessageContents: () =>
    new SqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    ),
  purgeQueueInProgress: (name: string) =>
    simpleQueueServiceError(
      'PurgeQueueInProgress',
      `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`,
      403,
    ),
  emptyBatchRequest: () =>
    simpleQueueServiceError(
      'EmptyBatchRequest',
      'There should be at least one entry in the request.',
    ),
  tooManyEntriesInBatchRequest: (count: number) =>
    simpleQueueServiceError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${count}.`,
    ),
  batchEntryIdsNotDistinct: (id: string) =>
    simpleQueueServiceError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`),
  invalidBatchEntryId: () =>
    simpleQueueServiceError(
      'InvalidBatchEntryId',
      'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
    ),
  batchRequestTooLong: (maxBytes: number) =>
    simpleQueueServiceError(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${maxBytes} bytes.`,
    ),
} as const;

// Receipt handles are opaque but not secret-free; an error never echoes one whole.
const truncate = (value: string): string =>
  value.length > 16 ? `${value.slice(0, 16)}...` : value;
