import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePollWorkerName } from '../../../lib/worker/poll-worker-name.ts';

describe('makePollWorkerName', () => {
  test('the configured name, a slash and a 12-hex-digit poll id, fresh for every poll', () => {
    const first = makePollWorkerName('host-1');
    const second = makePollWorkerName('host-1');
    assert.match(first.workerName, /^host-1\/[0-9a-f]{12}$/);
    assert.equal(first.workerName, `host-1/${first.pollId}`);
    assert.notEqual(first.pollId, second.pollId);
  });

  test('an 80-character name is cut so the whole stays within Step Functions’ 80', () => {
    const { workerName, pollId } = makePollWorkerName('h'.repeat(80), () => Buffer.alloc(6, 0xab));
    assert.equal(workerName.length, 80);
    assert.equal(workerName, `${'h'.repeat(67)}/abababababab`);
    assert.equal(pollId, 'abababababab');
  });
});
