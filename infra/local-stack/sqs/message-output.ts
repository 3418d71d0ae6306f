/**
 * A received message as ReceiveMessage answers it: with the system attributes and message
 * attributes the request asked for.
 */
import { type MessageAttributeValue, md5OfMessageAttributes } from './md5.ts';
import type { StoredMessage } from './queues.ts';

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

export const toOutputMessage = (
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
