/**
 * The SQS actions this stand-in serves, by family: queue management (queue-operations.ts) and
 * messages with their visibility (message-operations.ts). Both protocols (JSON 1.0 and the query
 * protocol, server.ts) call the same operations.
 */
import { requireString } from './input.ts';
import { messageOperations } from './message-operations.ts';
import { queueOperations } from './queue-operations.ts';
import type { Queue, QueueStore } from './queues.ts';

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

/** The SQS operations over one store, keyed by the name in `X-Amz-Target` / `Action`. */
export const makeOperations = (
  store: QueueStore,
  settings: OperationSettings,
): Record<string, Operation> => {
  const queueOf = (input: Record<string, unknown>): Queue =>
    store.findByUrl(requireString(input, 'QueueUrl'));
  return { ...queueOperations(store, settings, queueOf), ...messageOperations(store, queueOf) };
};
