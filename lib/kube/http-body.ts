/**
 * Reading the parts of an API server's answer the client acts on: the body (bounded, abortable),
 * its value as a state machine sees it, the status text and `Retry-After`.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { parseJson } from '../json/exact-json.ts';

/**
 * A response body as a state machine sees it: parsed JSON when the server says it is JSON (and it
 * parses), the text otherwise, undefined when empty.
 */
export function parseResponseBody(body: string, contentType: string | undefined): unknown {
  if (body.length === 0) return undefined;
  if (contentType && /[/+]json\b/i.test(contentType)) {
    try {
      return parseJson(body);
    } catch {
      return body;
    }
  }
  return body;
}

/** The reason phrase the server sent, or the standard one for its status. */
export const statusTextOf = (res: IncomingMessage): string =>
  res.statusMessage || STATUS_CODES[res.statusCode ?? 0] || '';

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfterMs(
  value: string | undefined,
  nowMs = Date.now(),
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const dateMs = Date.parse(value);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** The `Retry-After` of a response, in ms. */
export const readRetryAfterMs = (res: IncomingMessage): number | undefined => {
  const header = res.headers['retry-after'];
  return parseRetryAfterMs(Array.isArray(header) ? header[0] : header);
};

/**
 * Reads a body as UTF-8, destroying the stream once it passes `maxBytes` (`truncated` then says
 * so). Rejects with the signal's reason when aborted, with the stream's error when it breaks.
 */
export const readBody = (
  res: IncomingMessage,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ text: string; truncated: boolean }> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = () => res.destroy(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = () => signal.removeEventListener('abort', onAbort);
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.push(chunk.subarray(0, chunk.length - (size - maxBytes)));
        finish();
        res.destroy();
        resolve({ text: Buffer.concat(chunks).toString('utf8'), truncated: true });
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      finish();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), truncated: false });
    });
    res.on('error', (error) => {
      finish();
      reject(signal.aborted ? signal.reason : error);
    });
  });
