/**
 * One-shot injected faults: a test queues "answer the next N matching requests with this
 * fault" and the server takes one per request, before running the operation. Shared by the
 * stand-ins so each injects faults with the same rules: oldest queued first, used up request by
 * request.
 */

interface QueuedFault<TRequest, TFault> {
  /** Set for faults queued by name; a later fault under the same name replaces it. */
  key: string | undefined;
  matches: (request: TRequest) => boolean;
  fault: TFault;
  left: number;
}

export class FaultQueue<TRequest, TFault> {
  #queued: QueuedFault<TRequest, TFault>[] = [];

  /** The next `count` requests that `matches` accepts get `fault`, after faults queued earlier. */
  enqueue(matches: (request: TRequest) => boolean, fault: TFault, count = 1): void {
    this.#queued.push({ key: undefined, matches, fault, left: count });
  }

  /**
   * Like `enqueue`, but replacing whatever is still queued under `key`: "fail the next N calls of
   * this operation" says how many from now, not how many more.
   */
  replace(key: string, matches: (request: TRequest) => boolean, fault: TFault, count = 1): void {
    this.#queued = this.#queued.filter((queued) => queued.key !== key);
    this.#queued.push({ key, matches, fault, left: count });
  }

  /** Consumes and returns the fault due for this request, if any. */
  take(request: TRequest): TFault | undefined {
    const due = this.#queued.find((queued) => queued.left > 0 && queued.matches(request));
    if (!due) return undefined;
    due.left -= 1;
    if (due.left === 0) this.#queued.splice(this.#queued.indexOf(due), 1);
    return due.fault;
  }

  /** How many faults are still waiting to be served. */
  get pending(): number {
    return this.#queued.reduce((sum, queued) => sum + Math.max(queued.left, 0), 0);
  }

  clear(): void {
    this.#queued = [];
  }
}

/** The `faults` handle the AWS stand-ins give tests: "fail the next N calls of an operation". */
export interface OperationFaults<TFault> {
  /** Answers the next `count` calls of `operation` with `fault`. */
  failNext(operation: string, fault: TFault, count?: number): void;
  clear(): void;
}

/** `failNext` over `queue`, keyed by operation name. */
export const operationFaults = <TFault>(
  queue: FaultQueue<string, TFault>,
): OperationFaults<TFault> => ({
  failNext: (operation, fault, count = 1) =>
    queue.replace(operation, (name) => name === operation, fault, count),
  clear: () => queue.clear(),
});
