import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultQueue, operationFaults } from '../../../infra/local-stack/http/fault-queue.ts';

describe('FaultQueue', () => {
  it('serves each queued fault to as many matching requests as asked, oldest first', () => {
    const queue = new FaultQueue<string, string>();
    queue.enqueue(() => true, 'first', 2);
    queue.enqueue((name) => name === 'Get', 'second');
    assert.equal(queue.pending, 3);
    assert.equal(queue.take('Get'), 'first');
    assert.equal(queue.take('Put'), 'first');
    assert.equal(queue.take('Put'), undefined);
    assert.equal(queue.take('Get'), 'second');
    assert.equal(queue.take('Get'), undefined);
    assert.equal(queue.pending, 0);
  });

  it('replaces what is still queued under the same key rather than adding to it', () => {
    const queue = new FaultQueue<string, string>();
    queue.replace('Get', (name) => name === 'Get', 'old', 5);
    queue.replace('Get', (name) => name === 'Get', 'new', 1);
    assert.equal(queue.pending, 1);
    assert.equal(queue.take('Get'), 'new');
    assert.equal(queue.take('Get'), undefined);
  });

  it('clear drops every queued fault', () => {
    const queue = new FaultQueue<string, string>();
    queue.enqueue(() => true, 'fault', 3);
    queue.clear();
    assert.equal(queue.pending, 0);
    assert.equal(queue.take('Get'), undefined);
  });
});

describe('operationFaults', () => {
  it('fails the next N calls of one operation only, a count of 0 cancelling', () => {
    const queue = new FaultQueue<string, { type: string }>();
    const faults = operationFaults(queue);
    faults.failNext('SendMessage', { type: 'ServiceUnavailable' }, 2);
    faults.failNext('ReceiveMessage', { type: 'RequestThrottled' });
    assert.equal(queue.take('DeleteMessage'), undefined);
    assert.deepEqual(queue.take('SendMessage'), { type: 'ServiceUnavailable' });
    faults.failNext('ReceiveMessage', { type: 'RequestThrottled' }, 0);
    assert.equal(queue.take('ReceiveMessage'), undefined);
    assert.deepEqual(queue.take('SendMessage'), { type: 'ServiceUnavailable' });
    assert.equal(queue.take('SendMessage'), undefined);
    faults.failNext('SendMessage', { type: 'InternalError' });
    faults.clear();
    assert.equal(queue.take('SendMessage'), undefined);
  });
});
