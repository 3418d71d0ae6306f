/**
 * Fault injection and request counting for the local EKS control plane, so tests can check that a
 * client retries what AWS would have it retry (throttling, 5xx) and gives up on the rest.
 */
import { FaultQueue } from '../http/fault-queue.ts';
import { EksApiError } from './errors.ts';

/** The operations the local control plane serves, by their EKS API names. */
export const EksOperation = {
  CreateCluster: 'CreateCluster',
  DescribeCluster: 'DescribeCluster',
  DeleteCluster: 'DeleteCluster',
  ListClusters: 'ListClusters',
  CreateNodegroup: 'CreateNodegroup',
  DescribeNodegroup: 'DescribeNodegroup',
  DeleteNodegroup: 'DeleteNodegroup',
  ListNodegroups: 'ListNodegroups',
  CreateFargateProfile: 'CreateFargateProfile',
  DescribeFargateProfile: 'DescribeFargateProfile',
  DeleteFargateProfile: 'DeleteFargateProfile',
  ListFargateProfiles: 'ListFargateProfiles',
} as const;

export type EksOperationName = (typeof EksOperation)[keyof typeof EksOperation];

/** What an injected fault answers instead of the operation. */
export const InjectedFault = {
  /** 429 `ThrottlingException`, which SDKs retry with their throttling back-off. */
  throttle: 'throttle',
  /** 500 `ServerException`, which SDKs retry as a transient error. */
  serverError: 'server-error',
  /** 503 `ServiceUnavailableException`. */
  serviceUnavailable: 'service-unavailable',
} as const;

export type InjectedFaultKind = (typeof InjectedFault)[keyof typeof InjectedFault];

/** `'*'` matches every operation. */
export type OperationSelector = EksOperationName | '*';

/** Faults the next requests will meet; each rule is used up request by request, oldest first. */
export class EksFaults {
  readonly #queue = new FaultQueue<EksOperationName, InjectedFaultKind>();
  #latencyMs = new Map<OperationSelector, number>();

  /** The next `times` requests for `operation` are answered with the fault instead. */
  inject(operation: OperationSelector, kind: InjectedFaultKind, times = 1): void {
    if (!Number.isInteger(times) || times < 1)
      throw new RangeError('times must be a positive integer');
    this.#queue.enqueue((name) => operation === '*' || operation === name, kind, times);
  }

  /** Every answer to `operation` is delayed by `delayMs` (0 removes the delay). */
  addLatency(delayMs: number, operation: OperationSelector = '*'): void {
    if (delayMs <= 0) this.#latencyMs.delete(operation);
    else this.#latencyMs.set(operation, delayMs);
  }

  /** Removes every pending fault and delay. */
  clear(): void {
    this.#queue.clear();
    this.#latencyMs.clear();
  }

  /** How many injected faults are still waiting to be served. */
  get pending(): number {
    return this.#queue.pending;
  }

  /** @internal Consumes the fault due for this request, if any. */
  takeFault(operation: EksOperationName): EksApiError | undefined {
    const kind = this.#queue.take(operation);
    return kind === undefined ? undefined : toError(kind);
  }

  /** @internal The delay for this request: the operation's own, else the catch-all one. */
  latencyMsFor(operation: EksOperationName): number {
    return this.#latencyMs.get(operation) ?? this.#latencyMs.get('*') ?? 0;
  }
}

const toError = (kind: InjectedFaultKind): EksApiError => {
  switch (kind) {
    case 'throttle':
      return new EksApiError('ThrottlingException', 'Rate exceeded');
    case 'server-error':
      return new EksApiError('ServerException', 'An internal error occurred. (injected fault)');
    case 'service-unavailable':
      return new EksApiError(
        'ServiceUnavailableException',
        'Service unavailable. (injected fault)',
      );
  }
};

/**
 * Requests received per operation, counted once the signature is verified and the operation is
 * known, faulted or not: a client that retried twice shows three.
 */
export class EksRequestCounters {
  #counts = new Map<EksOperationName, number>();
  #received = 0;

  /**
   * Every HTTP request that reached the server, including those refused before an operation was
   * known (bad signature, unknown route, or a request Node's parser refused, e.g. HTTP 431 for an
   * over-long URL): what a test asserts on to show that nothing was sent.
   */
  get received(): number {
    return this.#received;
  }

  /** @internal */
  recordReceived(): void {
    this.#received += 1;
  }

  /** @internal */
  record(operation: EksOperationName): void {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
  }

  get(operation: EksOperationName): number {
    return this.#counts.get(operation) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }

  snapshot(): Partial<Record<EksOperationName, number>> {
    return Object.fromEntries(this.#counts);
  }

  reset(): void {
    this.#counts.clear();
    this.#received = 0;
  }
}
