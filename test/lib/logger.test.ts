import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeLogger } from '../../lib/logger.ts';

/** Runs `write` with process.stdout/stderr captured; returns the JSON lines written. */
const captureLines = (write: () => void): Record<string, unknown>[] => {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    write();
  } finally {
    streams.forEach((stream, index) => {
      stream.write = originals[index] as typeof stream.write;
    });
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
};

describe('makeLogger', () => {
  test('children write through the parent, each with its own keys, at their own levels', () => {
    const root = makeLogger({ logLevel: 'INFO', persistentKeys: { host: 'test' } });
    const lines = captureLines(() => {
      const first = root.createChild({ persistentKeys: { taskId: 'aaa' } });
      const second = first.createChild({ persistentKeys: { durationMs: 5 } });
      first.info('Task received', { activity: 'x' });
      second.error('Task failed', { errorName: 'EKS.JobFailed' });
      first.debug('not at INFO');
      root.warn('Root line');
    });
    assert.deepEqual(
      lines.map(({ level, message, host, taskId, durationMs }) => ({
        level,
        message,
        host,
        taskId,
        durationMs,
      })),
      [
        {
          level: 'INFO',
          message: 'Task received',
          host: 'test',
          taskId: 'aaa',
          durationMs: undefined,
        },
        { level: 'ERROR', message: 'Task failed', host: 'test', taskId: 'aaa', durationMs: 5 },
        {
          level: 'WARN',
          message: 'Root line',
          host: 'test',
          taskId: undefined,
          durationMs: undefined,
        },
      ],
    );
  });
});
