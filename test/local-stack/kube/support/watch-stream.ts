/** Test support: opens a raw watch stream and collects its newline-delimited JSON events. */
import { request } from 'node:https';
import type { KubeApiServer } from '../../../../infra/local-stack/kube/server.ts';

export interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    metadata: { name?: string; resourceVersion?: string };
    [k: string]: unknown;
    code?: number;
    message?: string;
  };
}

export interface OpenWatch {
  events: WatchEvent[];
  /** Resolves when the server ends the stream ('end') or the connection breaks ('error'). */
  ended: Promise<'end' | 'error'>;
  /** Waits until `count` events arrived (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<WatchEvent[]>;
  close(): void;
}

export function openWatch(server: KubeApiServer, token: string, path: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const waiters = new Set<() => void>();
    let settleEnded: (how: 'end' | 'error') => void = () => {};
    const ended = new Promise<'end' | 'error'>((r) => {
      settleEnded = r;
    });
    const req = request(new URL(path, server.endpoint), {
      ca: server.caPem,
      headers: { Authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
          newline = buffer.indexOf('\n');
        }
        for (const w of [...waiters]) w();
      });
      res.on('end', () => settleEnded('end'));
      res.on('error', () => settleEnded('error'));
      res.on('aborted', () => settleEnded('error'));
      resolve({
        events,
        ended,
        waitFor: (count, timeoutMs = 3000) =>
          new Promise((ok, fail) => {
            const check = () => {
              if (events.length >= count) {
                waiters.delete(check);
                clearTimeout(timer);
                ok(events.slice(0, count));
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(
                new Error(`timed out waiting for ${count} events, got ${JSON.stringify(events)}`),
              );
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', (error) => {
      settleEnded('error');
      reject(error);
    });
    req.end();
  });
}

/** Rejects if `promise` does not settle within `ms`. */
export const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms).unref(),
    ),
  ]);
