/**
 * Bounded reading of log streams, sized the way Step Functions counts: the UTF-8 bytes of the
 * JSON serialisation (a log goes into the output as a JSON string, where `"`, `\` and control
 * characters grow when escaped). Nothing here holds more than its bound plus one chunk.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** UTF-8 bytes of `text` once serialised as a JSON string, without the two quotes. */
export const measureSerializedBytes = (text: string): number =>
  Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;

/** UTF-8 bytes of any JSON value's serialisation (exact numbers written as their digits). */
export { measureJsonBytes } from '../../json/exact-json.ts';

/** The serialised size of one code point, as JSON.stringify writes it (well-formed variant). */
const measureCodePointBytes = (codePoint: number): number => {
  if (codePoint === 0x22 || codePoint === 0x5c) return 2;
  if (codePoint < 0x20) {
    // \b \t \n \f \r have short escapes; the rest are \u00XX.
    return [8, 9, 10, 12, 13].includes(codePoint) ? 2 : 6;
  }
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return 6; // a lone surrogate is escaped
  return codePoint < 0x10000 ? 3 : 4;
};

/**
 * The longest tail of `text` whose serialised size is at most `maxBytes`, starting at a line
 * boundary when one leaves something to keep (the end of a log is where answers and errors are).
 */
export const keepTail = (
  text: string,
  maxBytes: number,
  /** The text already lost its beginning, so its first line is partial: drop it if possible. */
  startsMidLine = false,
): { text: string; truncated: boolean } => {
  const totalBytes = measureSerializedBytes(text);
  if (totalBytes <= maxBytes && !startsMidLine) return { text, truncated: false };
  if (maxBytes <= 0) return { text: '', truncated: true };
  let excessBytes = Math.max(0, totalBytes - maxBytes);
  let index = 0;
  while (excessBytes > 0 && index < text.length) {
    const codePoint = text.codePointAt(index) ?? 0;
    excessBytes -= measureCodePointBytes(codePoint);
    index += codePoint > 0xffff ? 2 : 1;
  }
  const cutAt = text.charAt(index - 1) === '\n' ? index : text.indexOf('\n', index) + 1;
  // No later line start (or only a final newline): keep the mid-line cut rather than nothing.
  const start = cutAt > 0 && cutAt < text.length ? cutAt : index;
  return { text: text.slice(start), truncated: true };
};

export interface BoundedRead {
  /** Whether the stream ended before `maxRawBytes` were exceeded: `text` is the whole log. */
  complete: boolean;
  rawBytes: number;
  /** Serialised bytes of what was read (the whole log when complete). */
  serializedBytes: number;
  /** Newlines in what was read. */
  lines: number;
  /** What was read, when `retain` allowed it and the read is complete. */
  text: string | undefined;
}

/**
 * Reads at most `maxRawBytes + 1` bytes (the +1 tells "exactly the limit" from "more"), then
 * destroys the stream. Keeps the text only when `retain` and the stream ended within the limit.
 */
export const readBounded = async (
  stream: Readable,
  maxRawBytes: number,
  retain: boolean,
): Promise<BoundedRead> => {
  const decoder = new StringDecoder('utf8');
  const pieces: string[] = [];
  let rawBytes = 0;
  let serializedBytes = 0;
  let lines = 0;
  let complete = true;
  const take = (text: string) => {
    serializedBytes += measureSerializedBytes(text);
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines += 1;
    if (retain) pieces.push(text);
  };
  try {
    for await (const chunk of stream) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      const room = maxRawBytes + 1 - rawBytes;
      const part = buffer.length > room ? buffer.subarray(0, room) : buffer;
      rawBytes += part.length;
      take(decoder.write(part));
      if (rawBytes > maxRawBytes) {
        complete = false;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  if (complete) take(decoder.end());
  return {
    complete,
    rawBytes,
    serializedBytes,
    lines,
    text: retain && complete ? pieces.join('') : undefined,
  };
};

export interface TailRead {
  text: string;
  /** Whether anything of the stream was dropped to fit `maxBytes`. */
  truncated: boolean;
  /** Serialised bytes of the whole stream. */
  serializedBytes: number;
}

/**
 * Streams through everything and keeps the tail that fits `maxBytes` serialised bytes, cut at a
 * line boundary. Memory stays at `maxBytes` plus one chunk whatever the stream's length.
 */
export const readTail = async (stream: Readable, maxBytes: number): Promise<TailRead> => {
  const decoder = new StringDecoder('utf8');
  const pieces: { text: string; bytes: number }[] = [];
  let keptBytes = 0;
  let serializedBytes = 0;
  let dropped = false;
  const take = (text: string) => {
    if (text === '') return;
    const bytes = measureSerializedBytes(text);
    serializedBytes += bytes;
    pieces.push({ text, bytes });
    keptBytes += bytes;
    // Drop whole pieces from the front while the rest still covers the bound; the precise cut
    // inside the first piece happens once, at the end.
    while (pieces.length > 1 && keptBytes - (pieces[0]?.bytes ?? 0) >= maxBytes) {
      keptBytes -= pieces.shift()?.bytes ?? 0;
      dropped = true;
    }
  };
  try {
    for await (const chunk of stream) {
      take(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    }
    take(decoder.end());
  } finally {
    stream.destroy();
  }
  const tail = keepTail(pieces.map((piece) => piece.text).join(''), maxBytes, dropped);
  return { text: tail.text, truncated: dropped || tail.truncated, serializedBytes };
};
