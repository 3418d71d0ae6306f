import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  findTooDeepText,
  findTooDeepValue,
  maxInputDepth,
} from '../../../../lib/integrations/validation/input-depth.ts';

/** `{"a":{"a":...}}` nested `depth` deep, built without recursion. */
const nestedObject = (depth: number): unknown => {
  let value: unknown = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
};

describe('the input depth limit', () => {
  test('a value exactly at the limit passes, one level more is refused with its path', () => {
    assert.equal(findTooDeepValue(nestedObject(maxInputDepth), '$.Job'), undefined);
    const problem = findTooDeepValue(nestedObject(maxInputDepth + 1), '$.Job');
    assert.equal(problem?.path, `$.Job${'.a'.repeat(maxInputDepth)}`);
    assert.match(problem?.message ?? '', /deeper than 1000 levels/);
  });

  test('50,000 nested arrays are refused without overflowing the stack', () => {
    const text = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    assert.equal(findTooDeepText(text, '$.RequestBody')?.path, '$.RequestBody');
    assert.equal(
      findTooDeepValue(JSON.parse(text), '$.RequestBody')?.path.slice(0, 19),
      '$.RequestBody[0][0]',
    );
  });

  test('brackets inside JSON strings do not count, escaped quotes included', () => {
    const inString = JSON.stringify({ text: `\\"${'['.repeat(5000)}` });
    assert.equal(findTooDeepText(inString, '$.Job'), undefined);
  });

  test('scalars and shallow values pass', () => {
    assert.equal(findTooDeepValue('x', '$'), undefined);
    assert.equal(findTooDeepValue({ a: [1, { b: null }] }, '$'), undefined);
    assert.equal(findTooDeepText('apiVersion: batch/v1\nkind: Job', '$.Job'), undefined);
  });
});
