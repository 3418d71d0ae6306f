/**
 * Where a local function's output goes: what its sandboxes print (the function logs JSON lines)
 * and the platform lines Lambda adds around every invocation (START, END, REPORT). Lambda sends
 * all of it to CloudWatch Logs; here a callback, a file, or else the parent's stderr receives it,
 * so a line is never dropped without anyone having chosen to drop it.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** One line of a function's log. */
export interface FunctionLogLine {
  readonly functionName: string;
  readonly sandboxId: number;
  /**
   * The invocation the sandbox was running when the line arrived. Output flushed after the reply
   * can carry the next invocation's id or none, as late lines in CloudWatch can.
   */
  readonly requestId: string | undefined;
  /** `platform` marks the lines Lambda itself writes (START, END, REPORT). */
  readonly stream: 'stdout' | 'stderr' | 'platform';
  readonly line: string;
  readonly atMs: number;
}

/** Where a function's log lines go; without either, to the parent's stderr with a prefix. */
export interface FunctionLogOptions {
  /** Receives every line as it arrives (tests collect them). */
  readonly onLine?: (line: FunctionLogLine) => void;
  /** A file every line is appended to, unprefixed as in a CloudWatch log stream. */
  readonly filePath?: string;
}

/** The destination of one function's log lines. */
export class FunctionLogSink {
  readonly #options: FunctionLogOptions;
  readonly #file: WriteStream | undefined;

  constructor(options: FunctionLogOptions = {}) {
    this.#options = options;
    this.#file = options.filePath ? createWriteStream(options.filePath, { flags: 'a' }) : undefined;
  }

  write(line: FunctionLogLine): void {
    this.#options.onLine?.(line);
    this.#file?.write(`${line.line}\n`);
    if (!this.#options.onLine && !this.#file) {
      process.stderr.write(`[${line.functionName}#${line.sandboxId}] ${line.line}\n`);
    }
  }

  /** Resolves once the file (if any) has every line written so far. */
  close(): Promise<void> {
    const file = this.#file;
    if (!file) return Promise.resolve();
    return new Promise((resolve) => file.end(resolve));
  }
}

/**
 * Calls `onLine` for every complete line of a child's stream, and for the unterminated rest when
 * the stream ends, so the last words of a crashing sandbox are kept too.
 */
export const forEachLine = (stream: Readable, onLine: (line: string) => void): void => {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
    pending = '';
  });
};
