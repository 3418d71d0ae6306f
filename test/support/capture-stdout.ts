/**
 * Captures the JSON lines a process prints (Powertools log lines and EMF metric documents both go
 * to stdout, as in Lambda, where CloudWatch Logs receives them). A write that is not entirely JSON
 * lines passes through untouched, so the test runner's own output is never swallowed.
 */

export type JsonLine = Record<string, unknown>;

const parseJsonLines = (text: string): JsonLine[] | undefined => {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return undefined;
  const parsed: JsonLine[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) return undefined;
    try {
      parsed.push(JSON.parse(line) as JsonLine);
    } catch {
      return undefined;
    }
  }
  return parsed;
};

/** Starts capturing; `stop()` restores stdout and returns what was captured. */
export const captureStdoutJson = (): { lines: JsonLine[]; stop(): JsonLine[] } => {
  const lines: JsonLine[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const parsed = parseJsonLines(text);
    if (parsed === undefined) return write(chunk, ...rest);
    lines.push(...parsed);
    return true;
  }) as typeof process.stdout.write;
  return {
    lines,
    stop: () => {
      process.stdout.write = write;
      return lines;
    },
  };
};

/** Runs `body` with stdout's JSON lines captured. */
export const withCapturedStdoutJson = async (body: () => Promise<unknown>): Promise<JsonLine[]> => {
  const capture = captureStdoutJson();
  try {
    await body();
  } finally {
    capture.stop();
  }
  return capture.lines;
};
