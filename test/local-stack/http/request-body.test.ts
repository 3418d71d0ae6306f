import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  parseJsonObjectBody,
  readCappedBody,
} from '../../../infra/local-stack/http/request-body.ts';

/** A request body arriving in these chunks. */
const bodyOf = (...chunks: string[]): IncomingMessage =>
  Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as unknown as IncomingMessage;

describe('readCappedBody', () => {
  it('reads a body up to the cap whole, across chunks', async () => {
    const read = await readCappedBody(bodyOf('01234567', '89abcdef'), 16, () => new Error('cap'));
    assert.equal(read.toString('utf8'), '0123456789abcdef');
  });

  it("throws the service's own error past the cap", async () => {
    await assert.rejects(
      readCappedBody(bodyOf('01234567', '89abcdefg'), 16, () => new Error('too large')),
      /too large/,
    );
  });
});

describe('parseJsonObjectBody', () => {
  const errors = { notJson: () => new Error('not JSON'), notObject: () => new Error('not object') };

  it('an empty body is an empty object', () => {
    assert.deepEqual(parseJsonObjectBody(Buffer.alloc(0), errors), {});
  });

  it('parses a JSON object', () => {
    assert.deepEqual(parseJsonObjectBody(Buffer.from('{"a":1}'), errors), { a: 1 });
  });

  it('refuses what is not JSON, and JSON that is not an object, with the given errors', () => {
    assert.throws(() => parseJsonObjectBody(Buffer.from('{'), errors), /not JSON/);
    for (const text of ['[]', 'null', '"text"', '3']) {
      assert.throws(() => parseJsonObjectBody(Buffer.from(text), errors), /not object/);
    }
  });
});
