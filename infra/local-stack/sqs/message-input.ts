/**
 * A message a SendMessage (or SendMessageBatch entry) asks to send, validated as SQS validates it:
 * body characters, size, message attributes, FIFO group and deduplication rules.
 */
import { createHash } from 'node:crypto';
import { sqsErrors } from './errors.ts';
import { optionalInteger, optionalString } from './input.ts';
import type { MessageAttributeValue } from './md5.ts';
import type { NewMessage, Queue } from './queues.ts';

// XML 1.0's characters: SQS refuses anything else in a body or string attribute.
const invalidCharacter = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export const parseNewMessage = (
  queue: Queue,
  input: Record<string, unknown>,
  senderId: string,
  memberPrefix: string,
): NewMessage => {
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

export const messageBytes = (input: Record<string, unknown>): number => {
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
