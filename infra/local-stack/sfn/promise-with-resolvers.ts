/**
 * `Promise.withResolvers` polyfill.
 *
 * Why: aws-local-stepfunctions 3 calls `Promise.withResolvers()` for every Task state, and Node 20
 * (our CI and dev runtime) lacks it (Node 22, where Lambda runs, has it). Import this module
 * before the interpreter runs anything.
 */
interface WithResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promiseConstructor = Promise as unknown as { withResolvers?: unknown };

if (typeof promiseConstructor.withResolvers !== 'function') {
  promiseConstructor.withResolvers = function withResolvers<T>(): WithResolvers<T> {
    let resolve!: WithResolvers<T>['resolve'];
    let reject!: WithResolvers<T>['reject'];
    const promise = new Promise<T>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    return { promise, resolve, reject };
  };
}
