/**
 * Listening to one AbortSignal from thousands of places at once.
 *
 * Node's EventTarget looks through every listener already registered on each addEventListener and
 * removeEventListener (to refuse duplicates), so when every running task listens to the worker's
 * one shutdown signal, registering and removing cost O(tasks) each: at 5,000 tasks, seconds of
 * CPU that delayed heartbeats. Here the signal has one listener that calls a Set's members.
 */
const listenersBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` once when `signal` aborts (never when it already has, as addEventListener).
 * Returns the function that stops listening; O(1) either way.
 */
export const listenForAbort = (signal: AbortSignal, listener: () => void): (() => void) => {
  let listeners = listenersBySignal.get(signal);
  if (listeners === undefined) {
    const created = new Set<() => void>();
    listeners = created;
    listenersBySignal.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        const called = [...created];
        created.clear();
        for (const each of called) {
          try {
            each();
          } catch (error) {
            // As EventTarget does: report it, and still call the others.
            queueMicrotask(() => {
              throw error;
            });
          }
        }
      },
      { once: true },
    );
  }
  // A wrapper of its own, so the same function registered twice is also called twice.
  const entry = (): void => listener();
  listeners.add(entry);
  const registered = listeners;
  return () => {
    registered.delete(entry);
  };
};
