/**
 * Reading a request body whole, with a cap: each stand-in refuses bodies larger than its real
 * service would take rather than buffering whatever a client sends.
 */
import type { IncomingMessage } from 'node:http';

/**
 * The body as one buffer. Past `maxBytes` it stops reading and throws what `tooLarge` makes,
 * the service's own "too large" error.
 */
export async function readCappedBody(
  req: IncomingMessage,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > maxBytes) throw tooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** What a JSON body can be wrong with, for the service to word as it does. */
export interface JsonBodyErrors {
  notJson: () => Error;
  notObject: () => Error;
}

/** A JSON request body that must be an object; an empty body is `{}`. */
export function parseJsonObjectBody(body: Buffer, errors: JsonBodyErrors): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw errors.notJson();
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.notObject();
  }
  return parsed as Record<string, unknown>;
}
