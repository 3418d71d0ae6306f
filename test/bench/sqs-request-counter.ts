/**
 * Counts the requests the local SQS server receives, by action and by caller, at arrival (the
 * `request` event of its `http.Server`, as kube-request-counter.ts counts the API servers'), so
 * nothing in the functions or the event source has to be wrapped.
 *
 * The caller comes from the SDK's user agent: code running in a Lambda sandbox sends
 * `exec-env/AWS_Lambda_nodejs...` (the SDK adds `AWS_EXECUTION_ENV`, which the local Lambda
 * service sets as Lambda does); everything else is the Lambda service itself (the event source's
 * ReceiveMessage and DeleteMessageBatch) or the bench's own setup, which `reset` drops.
 */
import { type IncomingMessage, Server } from 'node:http';

export type SqsCaller = 'functions' | 'event source';

export interface SqsRequestCounter {
  /** Requests by caller, then by action (e.g. `ReceiveMessage`). */
  counts(): Record<SqsCaller, Record<string, number>>;
  reset(): void;
  /** Puts `http.Server.prototype.emit` back. */
  uninstall(): void;
}

const targetPrefix = 'AmazonSQS.';

/** Installs the counter for the SQS server at `endpoint` (`http://127.0.0.1:<port>`). */
export const installSqsRequestCounter = (endpoint: string): SqsRequestCounter => {
  const port = Number(new URL(endpoint).port);
  const counts: Record<SqsCaller, Map<string, number>> = {
    functions: new Map(),
    'event source': new Map(),
  };
  const original = Server.prototype.emit;
  Server.prototype.emit = function patchedEmit(
    this: Server,
    event: string | symbol,
    ...args: unknown[]
  ) {
    if (event === 'request') {
      const req = args[0] as IncomingMessage;
      if (req.socket.localPort === port) {
        const target = String(req.headers['x-amz-target'] ?? '');
        const action = target.startsWith(targetPrefix)
          ? target.slice(targetPrefix.length)
          : 'other';
        const agent = `${req.headers['user-agent'] ?? ''} ${req.headers['x-amz-user-agent'] ?? ''}`;
        const byAction =
          counts[agent.includes('exec-env/AWS_Lambda') ? 'functions' : 'event source'];
        byAction.set(action, (byAction.get(action) ?? 0) + 1);
      }
    }
    return original.apply(this, [event, ...args] as Parameters<typeof original>);
  } as typeof original;
  const sorted = (map: Map<string, number>) =>
    Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
  return {
    counts: () => ({
      functions: sorted(counts.functions),
      'event source': sorted(counts['event source']),
    }),
    reset: () => {
      counts.functions.clear();
      counts['event source'].clear();
    },
    uninstall: () => {
      Server.prototype.emit = original;
    },
  };
};
