import type { ServerResponse } from 'node:http';

/**
 * Aborted when the client hangs up before its answer is written, so a held request (a long poll)
 * stops waiting for it. `close` and not `finish`: a client that hangs up never sees a finish.
 */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller.signal;
}
