import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorName, InvalidParametersError, TaskFailedError } from '../../../lib/errors.ts';
import { TaskAbortedError } from '../../../lib/integrations/types.ts';
import { parseJson } from '../../../lib/json/exact-json.ts';
import { SfnLimits } from '../../../lib/limits.ts';
import {
  fitCause,
  fitJson,
  fitText,
  makeFailureOutcome,
  makeInterruptedFailure,
  makeSuccessOutcome,
  toTaskOutcome,
} from '../../../lib/worker/outcome.ts';

/** A small seeded PRNG (mulberry32) so a failing shape can be reproduced from its seed. */
const makeRandom = (seed: number) => {
  let state = seed;
  return () => {
    state += 0x6d2b79f5;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

const alphabet = [
  'a',
  'Z',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0001',
  'é',
  '€',
  '😀',
  '👩‍👩‍👧',
  '\u2028',
  '{',
  ']',
];

const makeString = (random: () => number, maxLength: number): string => {
  const length = Math.floor(random() * random() * maxLength);
  let text = '';
  for (let i = 0; i < length; i += 1) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
};

/** Random JSON shapes; `budget.chars` bounds the total size so a run stays fast. */
const makeValue = (random: () => number, depth: number, budget: { chars: number }): unknown => {
  const pick = random();
  if (budget.chars <= 0 || depth > 5 || pick < 0.35) {
    const text = makeString(random, Math.min(budget.chars, depth === 0 ? 60_000 : 20_000));
    budget.chars -= text.length + 2;
    return text;
  }
  budget.chars -= 8;
  if (pick < 0.45) return Math.floor(random() * 1e9);
  if (pick < 0.5) return random() < 0.5 ? null : true;
  if (pick < 0.75) {
    const length = Math.floor(random() * random() * 400);
    return Array.from({ length }, () => makeValue(random, depth + 1, budget));
  }
  const object: Record<string, unknown> = {};
  const keys = Math.floor(random() * random() * 60);
  for (let i = 0; i < keys; i += 1) {
    object[`${makeString(random, 20)}${i}`] = makeValue(random, depth + 1, budget);
  }
  return object;
};

describe('failure cause', () => {
  test('any value, once fitted, parses as JSON and fits the cause limit (many random shapes)', () => {
    let cutCount = 0;
    for (let seed = 1; seed <= 80; seed += 1) {
      const value = makeValue(makeRandom(seed), 0, { chars: 100_000 });
      // A JSON value (even a bare string) stays JSON; plain-text causes have their own test.
      const fitted =
        typeof value === 'string' ? fitJson(value, SfnLimits.maxCauseChars) : fitCause(value);
      assert.ok(fitted.length <= SfnLimits.maxCauseChars, `seed ${seed}: ${fitted.length} chars`);
      assert.doesNotThrow(() => JSON.parse(fitted), `seed ${seed} does not parse`);
      if (fitted !== JSON.stringify(value)) cutCount += 1;
    }
    assert.ok(cutCount >= 10, `only ${cutCount} shapes needed cutting; the test is too gentle`);
  });

  test('a value that fits is sent unchanged', () => {
    const value = { message: 'Unauthorized', code: 401, list: [1, 'two', { three: 3 }] };
    assert.equal(fitCause(value), JSON.stringify(value));
  });

  test('the longest string is cut first and the cut is marked', () => {
    const value = { reason: 'Failed', pods: [{ log: 'x'.repeat(40_000) }] };
    const fitted = JSON.parse(fitCause(value));
    assert.equal(fitted.reason, 'Failed');
    assert.match(fitted.pods[0].log, /^x+…\[cut \d+ chars\]$/);
  });

  test('a huge array of small items loses trailing items with a marker', () => {
    const value = { items: Array.from({ length: 20_000 }, (_, n) => n) };
    const fitted = JSON.parse(fitCause(value));
    assert.equal(fitted.items[0], 0);
    assert.match(String(fitted.items.at(-1)), /^…\[cut \d+ items\]$/);
    assert.ok(JSON.stringify(fitted).length <= SfnLimits.maxCauseChars);
  });

  test('a string cause holding JSON stays valid JSON when cut', () => {
    const cause = JSON.stringify({ ResponseBody: 'y'.repeat(50_000), StatusCode: 500 });
    const fitted = fitCause(cause);
    assert.ok(fitted.length <= SfnLimits.maxCauseChars);
    assert.equal(JSON.parse(fitted).StatusCode, 500);
  });

  test('a plain-text cause is cut with a marker and never splits an emoji', () => {
    const fitted = fitCause('😀'.repeat(20_000));
    assert.ok(fitted.length <= SfnLimits.maxCauseChars);
    assert.match(fitted, /…\[cut \d+ chars\]$/);
    assert.doesNotMatch(fitted, /[\ud800-\udbff](?![\udc00-\udfff])/, 'lone high surrogate');
  });

  test('fitText and fitJson honour a small limit', () => {
    assert.ok(fitText('abcdefghij'.repeat(10), 50).length <= 50);
    const json = fitJson({ a: 'b'.repeat(500), c: ['d'.repeat(300)] }, 120);
    assert.ok(json.length <= 120);
    assert.doesNotThrow(() => JSON.parse(json));
  });
});

describe('failure error name', () => {
  test('an error name longer than 256 characters is cut to 256', () => {
    const outcome = makeFailureOutcome(`EKS.${'x'.repeat(400)}`, {});
    assert.ok(outcome.kind === 'failure');
    assert.equal(outcome.error.length, SfnLimits.maxErrorChars);
  });
});

describe('success output', () => {
  test('an output of exactly 262,144 bytes is accepted', () => {
    // JSON string quotes take 2 bytes; '€' takes 3.
    const value = `${'€'.repeat(87_380)}${'a'.repeat(2)}`;
    assert.equal(Buffer.byteLength(JSON.stringify(value)), 262_144);
    assert.equal(makeSuccessOutcome(value).kind, 'success');
  });

  test('an output one byte over the limit, counted as UTF-8, fails with EKS.OutputTooLarge', () => {
    const value = `${'€'.repeat(87_380)}${'a'.repeat(3)}`;
    const outcome = makeSuccessOutcome(value, 'Ask for less.');
    assert.ok(outcome.kind === 'failure');
    assert.equal(outcome.error, ErrorName.OutputTooLarge);
    const cause = JSON.parse(outcome.cause);
    assert.equal(cause.OutputBytes, 262_145);
    assert.match(cause.message, /accepts at most 262144\. Ask for less\.$/);
  });

  test('an undefined result is sent as JSON null', () => {
    assert.deepEqual(makeSuccessOutcome(undefined), { kind: 'success', output: 'null' });
  });

  test('an output that cannot be serialised fails instead of throwing', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const outcome = makeSuccessOutcome(cycle);
    assert.equal(outcome.kind, 'failure');
  });

  test('a bigint is written as its digits', () => {
    assert.deepEqual(makeSuccessOutcome({ big: 2n ** 64n }), {
      kind: 'success',
      output: '{"big":18446744073709551616}',
    });
  });
});

describe('outcome of a run', () => {
  test('an abandoned task is never answered, even when the integration returned a value', () => {
    const outcome = toTaskOutcome(
      { status: 'fulfilled', value: {} },
      { kind: 'abandoned', sfnError: 'TaskTimedOut' },
    );
    assert.deepEqual(outcome, { kind: 'abandoned', sfnError: 'TaskTimedOut' });
  });

  test('a generic abort error after a shutdown abort means interrupted', () => {
    const abortError = new DOMException('This operation was aborted', 'AbortError');
    const outcome = toTaskOutcome({ status: 'rejected', reason: abortError }, { kind: 'shutdown' });
    assert.deepEqual(outcome, { kind: 'interrupted' });
  });

  test('a TaskAbortedError for shutdown thrown without a signal still means interrupted', () => {
    const outcome = toTaskOutcome({
      status: 'rejected',
      reason: new TaskAbortedError({ kind: 'shutdown' }),
    });
    assert.deepEqual(outcome, { kind: 'interrupted' });
  });

  test('an interrupted task that cannot be handed off fails with EKS.WorkerInterrupted', () => {
    const outcome = makeInterruptedFailure();
    assert.equal(outcome.error, ErrorName.WorkerInterrupted);
    assert.match(JSON.parse(outcome.cause).message, /could not hand it over/);
  });

  test('InvalidParametersError lists its problems in the cause', () => {
    const outcome = toTaskOutcome({
      status: 'rejected',
      reason: new InvalidParametersError([{ path: '$.Method', message: 'must be GET, POST, ...' }]),
    });
    assert.ok(outcome.kind === 'failure');
    assert.equal(outcome.error, ErrorName.InvalidParameters);
    assert.deepEqual(JSON.parse(outcome.cause).problems, [
      { path: '$.Method', message: 'must be GET, POST, ...' },
    ]);
  });

  test('a TaskFailedError with a string cause keeps the string', () => {
    const outcome = toTaskOutcome({
      status: 'rejected',
      reason: new TaskFailedError('EKS.JobFailed', 'failed', { failureCause: 'plain words' }),
    });
    assert.deepEqual(outcome, { kind: 'failure', error: 'EKS.JobFailed', cause: 'plain words' });
  });
});

describe('bare JSON string', () => {
  test('a top-level JSON string is cut like any other string and stays a JSON string', () => {
    const fitted = fitJson('"quoted" '.repeat(10_000), 1_000);
    assert.ok(fitted.length <= 1_000);
    assert.match(JSON.parse(fitted), /^"quoted" .*…\[cut \d+ chars\]$/);
  });
});

describe('exact numbers (integers beyond 2^53)', () => {
  const bigTask = parseJson(
    '{"spec":{"activeDeadlineSeconds":9007199254740993},"log":{"id":12345678901234567890123}}',
  );

  test('a success output writes them digit for digit', () => {
    const outcome = makeSuccessOutcome(bigTask);
    assert.deepEqual(outcome, {
      kind: 'success',
      output:
        '{"spec":{"activeDeadlineSeconds":9007199254740993},"log":{"id":12345678901234567890123}}',
    });
  });

  test('the size limit is checked on the exact text', () => {
    // 262,144 bytes with the exact digits; a double would write 2 fewer characters and fit.
    const digits = '12345678901234567890123';
    const padding = SfnLimits.maxOutputBytes - `{"n":${digits},"s":""}`.length + 1;
    const value = parseJson(`{"n":${digits},"s":"${'x'.repeat(padding)}"}`);
    const outcome = makeSuccessOutcome(value);
    assert.ok(outcome.kind === 'failure');
    assert.equal(outcome.error, ErrorName.OutputTooLarge);
  });

  test('trimming cuts strings around them but never their digits', () => {
    const value = parseJson(
      `{"ids":[12345678901234567890123,9007199254740993],"text":"${'y'.repeat(5_000)}"}`,
    );
    const fitted = fitJson(value, 1_000);
    assert.ok(fitted.length <= 1_000);
    assert.match(fitted, /^\{"ids":\[12345678901234567890123,9007199254740993\],"text":"y+…\[cut/);
  });

  test('a failure cause keeps them too', () => {
    const cause = fitCause('{"ResponseBody":{"spec":{"activeDeadlineSeconds":9007199254740993}}}');
    assert.equal(cause, '{"ResponseBody":{"spec":{"activeDeadlineSeconds":9007199254740993}}}');
  });
});
