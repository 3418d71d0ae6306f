/** Writing answers: JSON bodies (with int64 precision kept) and Status errors. */
import type { ServerResponse } from 'node:http';
import { stringifyInt64Json } from '../int64-json.ts';
import type { KubeApiError } from '../status.ts';

export const sendJson = (res: ServerResponse, code: number, body: unknown, head = false): void => {
  const text = stringifyInt64Json(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(head ? undefined : text);
};

export const sendStatus = (
  res: ServerResponse,
  error: KubeApiError,
  head = false,
  headers: Record<string, string> = {},
): void => {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, error.status.code, error.status, head);
};
