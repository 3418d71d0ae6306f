import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canStartPoll,
  computeAbortSettleMs,
  computePollWindowMs,
  computeWorkWindowMs,
} from '../../../lib/hosts/lambda-window.ts';

const budget = { longPollBudgetMs: 65_000, taskFinishBudgetMs: 30_000, handOffReserveMs: 20_000 };

describe('Lambda invocation window', () => {
  test('polls may start until a whole long poll, the finishing budget and the reserve are left', () => {
    assert.equal(computePollWindowMs(900_000, budget), 900_000 - 115_000);
  });

  test('a configured poll window caps the polling, and never lengthens it past what fits', () => {
    assert.equal(computePollWindowMs(900_000, { ...budget, pollWindowMs: 690_000 }), 690_000);
    assert.equal(computePollWindowMs(300_000, { ...budget, pollWindowMs: 690_000 }), 185_000);
  });

  test('a poll is allowed with exactly the three budgets left, and not one millisecond less', () => {
    assert.equal(canStartPoll(115_000, budget), true);
    assert.equal(canStartPoll(114_999, budget), false);
  });

  test('an invocation shorter than the budgets has no poll window at all', () => {
    assert.ok(computePollWindowMs(60_000, budget) < 0);
    assert.equal(canStartPoll(60_000, budget), false);
  });

  test('running tasks may work until the reserve, never a negative time', () => {
    assert.equal(computeWorkWindowMs(50_000, budget), 30_000);
    assert.equal(computeWorkWindowMs(10_000, budget), 0);
  });

  test('an interrupted task gets half the reserve to settle, capped', () => {
    assert.equal(computeAbortSettleMs(budget, 10_000), 10_000);
    assert.equal(computeAbortSettleMs({ ...budget, handOffReserveMs: 1_000 }, 10_000), 500);
  });
});
