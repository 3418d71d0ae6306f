import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeBackoffDelayMs } from '../../../lib/retry/backoff.ts';
import { classifySfnError, SfnErrorKind } from '../../../lib/worker/sfn-errors.ts';
import { TaskSlots } from '../../../lib/worker/slots.ts';
import { makeNetworkError, makeSfnError } from './support/fake-activity-api.ts';

describe('backoff', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 1_000 };

  test('the ceiling doubles per attempt and is capped', () => {
    const almostOne = () => 0.999_999;
    assert.equal(computeBackoffDelayMs(0, options, almostOne), 99);
    assert.equal(computeBackoffDelayMs(2, options, almostOne), 399);
    assert.equal(computeBackoffDelayMs(10, options, almostOne), 999);
    assert.equal(computeBackoffDelayMs(5_000, options, almostOne), 999);
  });

  test('full jitter spreads delays down to zero', () => {
    assert.equal(
      computeBackoffDelayMs(3, options, () => 0),
      0,
    );
  });
});

describe('activity API error classes', () => {
  test('TaskTimedOut, TaskDoesNotExist and InvalidToken mean the task is gone', () => {
    for (const name of ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']) {
      assert.equal(classifySfnError(makeSfnError(name, 400)), SfnErrorKind.TaskGone, name);
    }
  });

  test('throttling, 5xx and network failures are transient', () => {
    assert.equal(
      classifySfnError(makeSfnError('ThrottlingException', 400)),
      SfnErrorKind.Transient,
    );
    assert.equal(
      classifySfnError(makeSfnError('KmsThrottlingException', 400)),
      SfnErrorKind.Transient,
    );
    assert.equal(classifySfnError(makeSfnError('InternalFailure', 500)), SfnErrorKind.Transient);
    assert.equal(classifySfnError(makeNetworkError('ECONNRESET')), SfnErrorKind.Transient);
  });

  test('other 4xx answers are permanent; InvalidOutput has its own class', () => {
    assert.equal(
      classifySfnError(makeSfnError('AccessDeniedException', 400)),
      SfnErrorKind.Permanent,
    );
    assert.equal(classifySfnError(makeSfnError('InvalidOutput', 400)), SfnErrorKind.InvalidOutput);
  });
});

describe('task slots', () => {
  test('a slot is taken only while one is free, and a released slot can be taken again', () => {
    const slots = new TaskSlots(2);
    assert.equal(slots.tryAcquire(), true);
    assert.equal(slots.tryAcquire(), true);
    assert.equal(slots.tryAcquire(), false);
    assert.equal(slots.inUse, 2);
    assert.equal(slots.free, 0);
    slots.release();
    assert.equal(slots.free, 1);
    assert.equal(slots.tryAcquire(), true);
  });

  test('releasing more than was taken is a bug, reported at once', () => {
    const slots = new TaskSlots(1);
    assert.throws(() => slots.release(), /more often than acquire/);
  });
});
