/**
 * The message actions: sending, receiving, deleting, and changing a received message's
 * visibility timeout, singly or in batches.
 */
import { batchEntries, runBatch } from './batch.ts';
import { sqsErrors } from './errors.ts';
import { optionalInteger, requireInteger, requireString, stringList } from './input.ts';
import { messageBytes, parseNewMessage } from './message-input.ts';
import { toOutputMessage } from './message-output.ts';
import type { Operation } from './operations.ts';
import type { Queue, QueueStore, StoredMessage } from './queues.ts';

export const messageOperations = (
  store: QueueStore,
  queueOf: (input: Record<string, unknown>) => Queue,
): Record<string, Operation> => ({
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
    return runBatch(entries, (entry) =>
      sendResult(store.send(queue, parseNewMessage(queue, entry, context.callerId, 'Entries.'))),
    );
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
    return runBatch(batchEntries(input.Entries), (entry) => {
      store.deleteMessage(queue, requireString(entry, 'ReceiptHandle'));
      return {};
    });
  },

  ChangeMessageVisibility: (input) => {
    const queue = queueOf(input);
    const seconds = requireInteger(input, 'VisibilityTimeout', 0, 43200);
    store.changeVisibility(queue, requireString(input, 'ReceiptHandle'), seconds);
    return {};
  },

  ChangeMessageVisibilityBatch: (input) => {
    const queue = queueOf(input);
    return runBatch(batchEntries(input.Entries), (entry) => {
      store.changeVisibility(
        queue,
        requireString(entry, 'ReceiptHandle'),
        requireInteger(entry, 'VisibilityTimeout', 0, 43200),
      );
      return {};
    });
  },
});

const sendResult = (message: StoredMessage): Record<string, unknown> => ({
  MessageId: message.messageId,
  MD5OfMessageBody: message.md5OfBody,
  ...(message.md5OfMessageAttributes
    ? { MD5OfMessageAttributes: message.md5OfMessageAttributes }
    : {}),
  ...(message.sequenceNumber ? { SequenceNumber: message.sequenceNumber } : {}),
});
