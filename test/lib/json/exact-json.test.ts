import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  holdsInexactNumber,
  isLosslessNumber,
  JsonNestingTooDeepError,
  measureJsonBytes,
  parseJson,
  reviveBigInt,
  stringifyJson,
} from '../../../lib/json/exact-json.ts';

const roundTrip = (text: string): string | undefined => stringifyJson(parseJson(text));

describe('exact JSON: numbers pass through unchanged', () => {
  test('an int64 beyond 2^53 keeps every digit (JSON.parse would make it ...992)', () => {
    const text = '{"spec":{"activeDeadlineSeconds":9007199254740993}}';
    assert.equal(JSON.stringify(JSON.parse(text)), text.replace('993', '992'));
    assert.equal(roundTrip(text), text);
  });

  test('a 23-digit integer in a log line stays an integer, not 1.2345678901234568e+22', () => {
    assert.equal(roundTrip('{"id": 12345678901234567890123}'), '{"id":12345678901234567890123}');
  });

  test('negative, int64 extremes, long fractions and out-of-range exponents are all kept', () => {
    const text =
      '[-9007199254740993,9223372036854775807,-9223372036854775808,3.14159265358979323846,1e400,1e-400,18446744073709551615]';
    assert.equal(roundTrip(text), text);
  });

  test('numbers a double holds exactly stay plain numbers, so type checks keep working', () => {
    const value = parseJson(
      '{"a":9007199254740991,"b":1.5,"c":1e-5,"d":-0.25,"big":9007199254740993}',
    ) as Record<string, unknown>;
    assert.equal(value.a, 9007199254740991);
    assert.equal(value.b, 1.5);
    assert.equal(value.c, 1e-5);
    assert.equal(value.d, -0.25);
    assert.ok(isLosslessNumber(value.big));
  });

  test('a long digit run inside a string is left alone and does not change the result', () => {
    const text = '{"resourceVersion":"123456789012345678901234","n":7,"dup":1,"dup":2}';
    assert.deepEqual(parseJson(text), JSON.parse(text));
  });

  test('duplicate keys keep the last value, as JSON.parse does, on the exact path too', () => {
    assert.deepEqual(parseJson('{"a":1,"a":2,"n":90071992547409931}'), {
      a: 2,
      n: parseJson('90071992547409931'),
    });
    assert.equal(roundTrip('{"a":1,"a":2,"n":90071992547409931}'), '{"a":2,"n":90071992547409931}');
  });

  test('invalid JSON is a SyntaxError on both paths', () => {
    assert.throws(() => parseJson('{"a":'), SyntaxError);
    assert.throws(() => parseJson('{"a":12345678901234567890,'), SyntaxError);
  });

  test('nesting too deep for the exact parser is a named error, not a RangeError', () => {
    const text = `${'['.repeat(50_000)}12345678901234567890${']'.repeat(50_000)}`;
    assert.throws(() => parseJson(text), JsonNestingTooDeepError);
  });

  test('stringify: bigint is written as digits, undefined stays undefined, cycles still throw', () => {
    assert.equal(stringifyJson({ a: 2n ** 64n }), '{"a":18446744073709551616}');
    assert.equal(stringifyJson(undefined), undefined);
    assert.equal(stringifyJson({ u: undefined, f: () => 1 }), '{}');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => stringifyJson(cycle), TypeError);
  });

  test('an ordinary object with an isLosslessNumber key is written unchanged', () => {
    const value = { isLosslessNumber: true, value: '5', nested: { isLosslessNumber: true } };
    assert.equal(stringifyJson(value), JSON.stringify(value));
  });

  test('sizes are measured on the exact text', () => {
    const value = parseJson('{"id":12345678901234567890123}');
    assert.equal(measureJsonBytes(value), '{"id":12345678901234567890123}'.length);
  });

  test('reviveBigInt turns YAML bigints into what parseJson gives', () => {
    assert.equal(reviveBigInt('k', 5n), 5);
    assert.equal(stringifyJson(reviveBigInt('k', 9007199254740993n)), '9007199254740993');
    assert.equal(reviveBigInt('k', 'x'), 'x');
  });
});

describe('holdsInexactNumber: only numbers count, not digits inside strings', () => {
  test('digit runs inside string values and keys do not ask for the exact parser', () => {
    const pod = {
      metadata: { uid: '12345678-1234-1234-1234-123456789012', name: 'job-1234567890123456' },
      status: {
        containerStatuses: [
          { containerID: 'containerd://1234567890123456789012345678901234567890' },
          { imageID: 'docker.io/library/busybox@sha256:9999999999999999999999aaaa' },
        ],
        note: 'an exponent in text: 1e+308, and an escaped quote " then 12345678901234567',
      },
      '1234567890123456': 'a key of digits',
      resourceVersion: 12345,
    };
    assert.equal(holdsInexactNumber(JSON.stringify(pod)), false);
  });

  test('a long number, a long fraction or a big exponent outside strings asks for it', () => {
    assert.equal(holdsInexactNumber('{"a":"x","n":9007199254740993}'), true);
    assert.equal(holdsInexactNumber('[1234567.123456789]'), true);
    assert.equal(holdsInexactNumber('{"big":1e+308}'), true);
    assert.equal(holdsInexactNumber('{"s":"\\"","n":12345678901234567}'), true);
    assert.equal(holdsInexactNumber('{"n":123456789012345}'), false);
  });

  test('a number parsed natively because its digits were in a string stays exact', () => {
    const text = '{"id":"9007199254740993","n":42}';
    assert.deepEqual(parseJson(text), { id: '9007199254740993', n: 42 });
  });
});
