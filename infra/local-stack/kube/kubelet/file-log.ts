/**
 * The log of a locally executed container, kept the way a kubelet keeps one: in a file, never in
 * memory. Each record is `<timestamp> <F|P> <text>\n`, `P` marking a partial line (output cut at
 * `maxLineBytes`, or a last line without a newline), as the CRI log format does.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerLog, LogReadOptions } from './container-log.ts';
import { formatLogTimestamp, makePullStream, waitForChange } from './log-stream.ts';

/** Longest line kept as one record; the kubelet splits at 16 KiB too. */
const maxLineBytes = 16 * 1024;
/** formatLogTimestamp's fixed width. */
const timestampLength = 30;

interface LogRecord {
  timestamp: string;
  partial: boolean;
  text: string;
}

const parseRecord = (line: string): LogRecord => ({
  timestamp: line.slice(0, timestampLength),
  partial: line[timestampLength + 1] === 'P',
  text: line.slice(timestampLength + 3),
});

const formatRecordOutput = (record: LogRecord, timestamps: boolean): string =>
  `${timestamps ? `${record.timestamp} ` : ''}${record.text}${record.partial ? '' : '\n'}`;

/** Reads whole records from `[startByte, endByte)` of a file, 64 KiB at a time. */
async function* readRecords(
  path: string,
  startByte: number,
  endByte: number,
): AsyncGenerator<LogRecord> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    let position = startByte;
    let carry = '';
    while (position < endByte) {
      const { bytesRead } = await handle.read(
        buffer,
        0,
        Math.min(buffer.length, endByte - position),
        position,
      );
      if (bytesRead === 0) break;
      position += bytesRead;
      const text = carry + buffer.toString('utf8', 0, bytesRead);
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) yield parseRecord(line);
    }
  } finally {
    await handle.close();
  }
}

export class FileLog implements ContainerLog {
  readonly #dir: string;
  readonly #path: string;
  #fd: number | undefined;
  #sizeBytes = 0;
  #pending = '';
  #closed = false;
  readonly #wakers = new Set<() => void>();

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'local-kubelet-log-'));
    this.#path = join(this.#dir, 'container.log');
    this.#fd = openSync(this.#path, 'a');
  }

  #writeRecord(text: string, partial: boolean): void {
    if (this.#fd === undefined) return;
    const record = `${formatLogTimestamp(Date.now())} ${partial ? 'P' : 'F'} ${text}\n`;
    const bytes = Buffer.from(record, 'utf8');
    writeSync(this.#fd, bytes);
    this.#sizeBytes += bytes.length;
  }

  /** Appends process output; complete lines become records at once. */
  append(chunk: Buffer | string): void {
    if (this.#closed) return;
    this.#pending += chunk.toString();
    let newline = this.#pending.indexOf('\n');
    while (newline >= 0) {
      this.#writeLine(this.#pending.slice(0, newline), false);
      this.#pending = this.#pending.slice(newline + 1);
      newline = this.#pending.indexOf('\n');
    }
    while (this.#pending.length > maxLineBytes) {
      this.#writeRecord(this.#pending.slice(0, maxLineBytes), true);
      this.#pending = this.#pending.slice(maxLineBytes);
    }
    this.#wakeReaders();
  }

  #writeLine(text: string, partial: boolean): void {
    let rest = text;
    while (rest.length > maxLineBytes) {
      this.#writeRecord(rest.slice(0, maxLineBytes), true);
      rest = rest.slice(maxLineBytes);
    }
    this.#writeRecord(rest, partial);
  }

  #wakeReaders(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  close(): void {
    if (this.#closed) return;
    if (this.#pending.length > 0) this.#writeLine(this.#pending, true);
    this.#pending = '';
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#wakeReaders();
  }

  dispose(): void {
    this.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  open(options: LogReadOptions): Readable {
    const path = this.#path;
    const snapshotEnd = this.#sizeBytes;
    const sinceTimestamp =
      options.sinceMs === undefined ? undefined : formatLogTimestamp(options.sinceMs);
    const read = async function* (this: FileLog, signal: AbortSignal): AsyncGenerator<string> {
      const selected = (r: LogRecord): boolean =>
        sinceTimestamp === undefined || r.timestamp >= sinceTimestamp;
      if (options.tailLines !== undefined) {
        // A ring of the last N records: memory bounded by N, whatever the log's size.
        const ring: LogRecord[] = [];
        if (options.tailLines > 0) {
          for await (const record of readRecords(path, 0, snapshotEnd)) {
            if (!selected(record)) continue;
            ring.push(record);
            if (ring.length > options.tailLines) ring.shift();
          }
        }
        if (ring.length > 0) {
          yield ring.map((r) => formatRecordOutput(r, options.timestamps)).join('');
        }
      } else {
        yield* this.#readRange(0, snapshotEnd, selected, options.timestamps);
      }
      let position = snapshotEnd;
      while (options.follow) {
        if (this.#sizeBytes > position) {
          const end = this.#sizeBytes;
          yield* this.#readRange(position, end, () => true, options.timestamps);
          position = end;
          continue;
        }
        if (this.#closed) return;
        try {
          await waitForChange(60_000, signal, (wake) => {
            this.#wakers.add(wake);
            return () => this.#wakers.delete(wake);
          });
        } catch {
          return;
        }
      }
    };
    return makePullStream((signal) => read.call(this, signal));
  }

  async *#readRange(
    start: number,
    end: number,
    selected: (r: LogRecord) => boolean,
    timestamps: boolean,
  ): AsyncGenerator<string> {
    let chunk = '';
    for await (const record of readRecords(this.#path, start, end)) {
      if (!selected(record)) continue;
      chunk += formatRecordOutput(record, timestamps);
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk.length > 0) yield chunk;
  }
}
