import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { listenForAbort } from '../../../lib/worker/abort-fan-out.ts';

describe('listenForAbort', () => {
  test('thousands of listeners cost the signal one listener, and each is called once', () => {
    const controller = new AbortController();
    let calls = 0;
    const stops = Array.from({ length: 5_000 }, () =>
      listenForAbort(controller.signal, () => calls++),
    );
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    for (const stop of stops.slice(0, 1_000)) stop();
    controller.abort();
    controller.abort();
    assert.equal(calls, 4_000);
  });

  test('the same function registered twice is called twice; stopping one leaves the other', () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const listener = () => seen.push('called');
    const stopFirst = listenForAbort(controller.signal, listener);
    listenForAbort(controller.signal, listener);
    stopFirst();
    stopFirst();
    controller.abort();
    assert.deepEqual(seen, ['called']);
  });

  test('a signal that has already aborted calls nothing, as addEventListener', () => {
    const signal = AbortSignal.abort();
    let called = false;
    listenForAbort(signal, () => {
      called = true;
    });
    assert.equal(called, false);
  });
});
