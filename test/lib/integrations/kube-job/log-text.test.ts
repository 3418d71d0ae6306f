import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  keepTail,
  measureSerializedBytes,
  readBounded,
  readTail,
} from '../../../../lib/integrations/kube-job/log-text.ts';

describe('log text sizing and bounded reads', () => {
  test('serialised size counts JSON escapes and UTF-8 bytes', () => {
    assert.equal(measureSerializedBytes('ab'), 2);
    assert.equal(measureSerializedBytes('"\\\n'), 6);
    assert.equal(measureSerializedBytes('\u0001'), 6);
    assert.equal(measureSerializedBytes('é€😀'), 2 + 3 + 4);
  });

  test('a tail is cut at a line boundary and fits its bound', () => {
    const text = 'first line\nsecond line\nthird line\n';
    const tail = keepTail(text, 20);
    assert.equal(tail.text, 'third line\n');
    assert.equal(tail.truncated, true);
  });

  test('a tail keeps everything when it fits', () => {
    assert.deepEqual(keepTail('a\nb\n', 100), { text: 'a\nb\n', truncated: false });
  });

  test('a single line longer than the bound is cut inside the line', () => {
    const tail = keepTail(`${'x'.repeat(100)}END`, 10);
    assert.equal(tail.text, `${'x'.repeat(7)}END`);
  });

  test('a tail with escapes and multi-byte characters stays within the bound', () => {
    const text = Array.from({ length: 200 }, (_, i) => `"q${i}" é😀\t\\\n`).join('');
    for (const bound of [1, 7, 50, 333, 1000]) {
      const tail = keepTail(text, bound);
      assert.ok(measureSerializedBytes(tail.text) <= bound, `bound ${bound}`);
      assert.ok(text.endsWith(tail.text));
    }
  });

  test('a bounded read stops after the limit and destroys the stream', async () => {
    let pulled = 0;
    const stream = Readable.from(
      (function* () {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(1000, 0x61);
        }
      })(),
    );
    const read = await readBounded(stream, 2500, true);
    assert.equal(read.complete, false);
    assert.equal(read.rawBytes, 2501);
    assert.equal(read.text, undefined);
    assert.ok(pulled <= 5);
    assert.ok(stream.destroyed);
  });

  test('a bounded read of a short stream is complete and counts lines', async () => {
    const read = await readBounded(Readable.from([Buffer.from('a\n"b"\n')]), 100, true);
    assert.deepEqual(read, {
      complete: true,
      rawBytes: 6,
      serializedBytes: 10,
      lines: 2,
      text: 'a\n"b"\n',
    });
  });

  test('a multi-byte character split across chunks is decoded whole', async () => {
    const bytes = Buffer.from('é\n');
    const read = await readBounded(
      Readable.from([bytes.subarray(0, 1), bytes.subarray(1)]),
      100,
      true,
    );
    assert.equal(read.text, 'é\n');
  });

  test('a tail read keeps the end of a long stream within its bound', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`);
    const stream = Readable.from(lines.map((line) => Buffer.from(line)));
    const tail = await readTail(stream, 100);
    assert.equal(tail.truncated, true);
    assert.ok(measureSerializedBytes(tail.text) <= 100);
    assert.ok(tail.text.startsWith('line '));
    assert.ok(tail.text.endsWith('line 4999\n'));
  });
});
