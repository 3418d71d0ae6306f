import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/**
 * Writes a whole AWS answer: status, content type, length and the request id every AWS service
 * sends (`x-amzn-RequestId`). A client that has gone away is not written to.
 */
export function sendAwsAnswer(
  res: ServerResponse,
  statusCode: number,
  contentType: string,
  payload: string,
  options: { requestId?: string; headers?: Record<string, string> } = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(statusCode, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(payload)),
    'x-amzn-requestid': options.requestId ?? randomUUID(),
    ...options.headers,
  });
  res.end(payload);
}
