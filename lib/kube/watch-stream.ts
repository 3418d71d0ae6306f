/**
 * Reading a watch response: newline-delimited JSON events, one `onEvent` call per line, until the
 * stream ends.
 */
import type { IncomingMessage } from 'node:http';
import { parseJson } from '../json/exact-json.ts';

/** One line of a watch stream. `object` is a Status for `type: 'ERROR'` (410 Gone, ...). */
export interface KubeWatchEvent {
  type: string;
  object: unknown;
}

/**
 * Calls `onEvent` per event of `res` and resolves when the stream ends, whether the server closed
 * it or the connection was cut (client-go's reflector treats both alike: the caller re-watches
 * from its last resourceVersion). Rejects with the signal's reason when aborted, with what
 * `onEvent` threw, or with `badLine()` when a line is not JSON; the stream is destroyed then.
 */
export const readWatchStream = (
  res: IncomingMessage,
  onEvent: (event: KubeWatchEvent) => void,
  signal: AbortSignal,
  badLine: () => unknown,
): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    let pending = '';
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => {
      res.destroy();
      settle(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const handleLine = (line: string): boolean => {
      if (line.trim() === '') return true;
      let event: KubeWatchEvent;
      try {
        event = parseJson(line) as KubeWatchEvent;
      } catch {
        res.destroy();
        settle(badLine());
        return false;
      }
      try {
        onEvent(event);
      } catch (error) {
        res.destroy();
        settle(error);
        return false;
      }
      return true;
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0 && !settled) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!handleLine(line)) return;
        newline = pending.indexOf('\n');
      }
    });
    res.on('end', () => {
      // A last line without its newline is complete only if it parses.
      if (pending.trim() !== '') {
        try {
          onEvent(parseJson(pending) as KubeWatchEvent);
        } catch {
          // cut mid-event: the stream is over either way
        }
      }
      settle();
    });
    res.on('error', () => settle(signal.aborted ? signal.reason : undefined));
    res.on('close', () => {
      if (!res.complete) settle(signal.aborted ? signal.reason : undefined);
    });
  });
