/**
 * The log of one container attempt. Two kinds: scripted logs, whose lines are known in advance and
 * become visible over the container's run (so `follow` streams them as they "appear"), and file
 * logs for local execution (see file-log.ts). Generated scripted logs are computed line by line
 * from their index: a multi-gigabyte log costs no memory and its tail is found by arithmetic.
 */
import type { Readable } from 'node:stream';
import { stringifyInt64Json } from '../int64-json.ts';
import type { ScriptLog } from './container-script.ts';
import { formatLogTimestamp, makePullStream, waitForChange } from './log-stream.ts';

/** What to read, already parsed (limitBytes is applied by the caller on the stream). */
export interface LogReadOptions {
  /** Only the last N lines (of those selected by `sinceMs`). */
  tailLines?: number;
  /** Only lines stamped at or after this epoch time. */
  sinceMs?: number;
  /** Prefix each line with its RFC 3339 timestamp and a space. */
  timestamps: boolean;
  /** Keep streaming new lines until the container ends. */
  follow: boolean;
}

export interface ContainerLog {
  /** A byte stream of the selected lines, with backpressure. */
  open(options: LogReadOptions): Readable;
  /** The container ended at `atMs`: no more lines; followers finish. */
  close(atMs: number): void;
  /** Frees what the log holds (temp files). */
  dispose(): void;
}

/** The lines of a scripted log, by index. */
interface LineModel {
  count: number;
  /** Line `index` without its newline. */
  textAt(index: number): string;
}

const makeLinesModel = (lines: readonly string[]): LineModel => ({
  count: lines.length,
  textAt: (index) => lines[index] ?? '',
});

/**
 * Line i of a generated log: `line 000000123 xxxx...`, `lineBytes` bytes with its newline; the
 * last line is shorter when `bytes` is not a multiple of `lineBytes`.
 */
const makeGeneratedModel = (bytes: number, lineBytes: number): LineModel => {
  const count = Math.ceil(bytes / lineBytes);
  const filler = 'x'.repeat(lineBytes);
  return {
    count,
    textAt(index) {
      const length = index === count - 1 ? bytes - (count - 1) * lineBytes : lineBytes;
      const text = `line ${String(index).padStart(9, '0')} ${filler}`;
      return text.slice(0, length - 1);
    },
  };
};

const toLineModel = (log: ScriptLog): LineModel => {
  switch (log.kind) {
    case 'lines':
      return makeLinesModel(log.lines);
    case 'json':
      return makeLinesModel([stringifyInt64Json(log.value)]);
    case 'generated':
      return makeGeneratedModel(log.bytes, log.lineBytes);
  }
};

/** Bytes a reader gets per pull: big enough to be fast, small enough to keep memory flat. */
const chunkTargetBytes = 64 * 1024;

/**
 * A scripted log: line i is stamped `startMs + i * durationMs / count`, and is visible once that
 * time has come (or the container has ended).
 */
export class ScriptedLog implements ContainerLog {
  readonly #model: LineModel;
  readonly #startMs: number;
  readonly #durationMs: number;
  /** Lines that exist for good once the container ended; undefined while it runs. */
  #finalCount: number | undefined;
  readonly #wakers = new Set<() => void>();

  constructor(log: ScriptLog, startMs: number, durationMs: number) {
    this.#model = toLineModel(log);
    this.#startMs = startMs;
    this.#durationMs = durationMs;
  }

  #timeOf(index: number): number {
    if (this.#model.count === 0) return this.#startMs;
    return this.#startMs + (index * this.#durationMs) / this.#model.count;
  }

  /** The first index whose time is at or after `timeMs`. */
  #firstIndexAtOrAfter(timeMs: number): number {
    const count = this.#model.count;
    if (this.#durationMs <= 0) return timeMs <= this.#startMs ? 0 : count;
    const estimate = Math.ceil(((timeMs - this.#startMs) * count) / this.#durationMs);
    let index = Math.min(count, Math.max(0, estimate));
    // Float rounding can put the estimate one off either way.
    while (index > 0 && this.#timeOf(index - 1) >= timeMs) index -= 1;
    while (index < count && this.#timeOf(index) < timeMs) index += 1;
    return index;
  }

  #visibleCount(nowMs: number): number {
    if (this.#finalCount !== undefined) return this.#finalCount;
    if (this.#durationMs <= 0) return this.#model.count;
    // Lines stamped at or before now are visible: the first index stamped after now.
    const after = this.#firstIndexAtOrAfter(nowMs);
    return after < this.#model.count && this.#timeOf(after) <= nowMs ? after + 1 : after;
  }

  close(atMs: number): void {
    if (this.#finalCount !== undefined) return;
    this.#finalCount =
      atMs >= this.#startMs + this.#durationMs ? this.#model.count : this.#visibleCount(atMs);
    for (const wake of [...this.#wakers]) wake();
  }

  dispose(): void {
    this.close(Date.now());
  }

  open(options: LogReadOptions): Readable {
    const endAtOpen = this.#visibleCount(Date.now());
    let cursor = options.sinceMs === undefined ? 0 : this.#firstIndexAtOrAfter(options.sinceMs);
    if (options.tailLines !== undefined) cursor = Math.max(cursor, endAtOpen - options.tailLines);
    const follow = options.follow;
    const read = async function* (this: ScriptedLog, signal: AbortSignal): AsyncGenerator<string> {
      let end = endAtOpen;
      for (;;) {
        while (cursor < end) {
          let chunk = '';
          while (cursor < end && chunk.length < chunkTargetBytes) {
            const text = this.#model.textAt(cursor);
            chunk += options.timestamps
              ? `${formatLogTimestamp(this.#timeOf(cursor))} ${text}\n`
              : `${text}\n`;
            cursor += 1;
          }
          yield chunk;
        }
        if (!follow || (this.#finalCount !== undefined && cursor >= this.#finalCount)) return;
        const waitMs = cursor < this.#model.count ? this.#timeOf(cursor) - Date.now() : 60_000;
        try {
          await waitForChange(waitMs, signal, (wake) => {
            this.#wakers.add(wake);
            return () => this.#wakers.delete(wake);
          });
        } catch {
          return;
        }
        end = this.#visibleCount(Date.now());
      }
    };
    return makePullStream((signal) => read.call(this, signal));
  }
}
