/**
 * The SQS event a function receives, in the exact shape Lambda's event source builds from
 * ReceiveMessage's answer (lower-camel keys, message attributes with list fields, the queue's ARN
 * and region), and the size arithmetic behind Lambda's 6 MB invocation payload limit.
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/** A message attribute as Lambda puts it in a record. */
export interface SqsRecordMessageAttribute {
  stringValue?: string;
  /** Base64, as in the JSON event. */
  binaryValue?: string;
  stringListValues: string[];
  binaryListValues: string[];
  dataType: string;
}

/** One record of the event Lambda's SQS event source sends. */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** System attributes: ApproximateReceiveCount, SentTimestamp, SenderId, ... */
  attributes: Record<string, string>;
  messageAttributes: Record<string, SqsRecordMessageAttribute>;
  /** Present only when the message has message attributes. */
  md5OfMessageAttributes?: string;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

/** The event: `{ Records: [...] }`. */
export interface SqsEvent {
  Records: SqsEventRecord[];
}

/** Lambda's limit on a synchronous invocation's request payload. */
export const invocationPayloadLimitBytes = 6 * 1024 * 1024;

/** `{"Records":[]}`: the bytes of the event around its records. */
export const emptyEventBytes = Buffer.byteLength(JSON.stringify({ Records: [] }));

/** A record's share of the event's JSON size (without the comma between records). */
export const recordBytes = (record: SqsEventRecord): number =>
  Buffer.byteLength(JSON.stringify(record));

const toRecordAttribute = (value: MessageAttributeValue): SqsRecordMessageAttribute => ({
  ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
  ...(value.BinaryValue !== undefined
    ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
    : {}),
  stringListValues: value.StringListValues ?? [],
  binaryListValues: (value.BinaryListValues ?? []).map((item) =>
    Buffer.from(item).toString('base64'),
  ),
  dataType: value.DataType ?? 'String',
});

/** A received message as a record of the event, for the queue with that ARN. */
export const toSqsEventRecord = (message: Message, queueArn: string): SqsEventRecord => {
  const messageAttributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      toRecordAttribute(value),
    ]),
  );
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: { ...(message.Attributes ?? {}) },
    messageAttributes,
    ...(message.MD5OfMessageAttributes
      ? { md5OfMessageAttributes: message.MD5OfMessageAttributes }
      : {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    // arn:aws:sqs:<region>:<account>:<name>
    awsRegion: queueArn.split(':')[3] ?? '',
  };
};
