/**
 * Fault injection for the local API server, driven in-process by tests and benchmarks: latency,
 * error answers (5xx, 429 with Retry-After), connection resets, dropped watch streams, forced 410s.
 * Also the per-route request counters ("Kubernetes API requests per Job").
 */

import { FaultQueue } from '../http/fault-queue.ts';

/** Which requests a fault applies to; absent fields match everything. */
export interface RouteMatcher {
  /** `GET`, `POST`, ... (case-insensitive). */
  method?: string;
  /** Tested against the path (no query). */
  path?: RegExp;
  /** Only watch requests (true) or only non-watch requests (false). */
  watch?: boolean;
}

export interface RequestInfo {
  method: string;
  path: string;
  watch: boolean;
}

export interface LatencyFault extends RouteMatcher {
  delayMs: number;
}

export interface ErrorFault extends RouteMatcher {
  /** 500, 503, 429, ... */
  status: number;
  /** How many matching requests get the error. @default 1 */
  count?: number;
  /** Sent as `Retry-After` (and `details.retryAfterSeconds`) for 429 and 503. @default 1 */
  retryAfterSeconds?: number;
}

export interface ResetFault extends RouteMatcher {
  /** How many matching requests get their connection destroyed. @default 1 */
  count?: number;
}

const matches = (m: RouteMatcher, r: RequestInfo): boolean =>
  (m.method === undefined || m.method.toUpperCase() === r.method) &&
  (m.path === undefined || m.path.test(r.path)) &&
  (m.watch === undefined || m.watch === r.watch);

/** What the server must do with one request, decided before anything else. */
export type FaultDecision =
  | { kind: 'none'; delayMs: number }
  | { kind: 'error'; delayMs: number; status: number; retryAfterSeconds: number }
  | { kind: 'reset'; delayMs: number };

export class FaultInjector {
  readonly #latencies = new Set<LatencyFault>();
  readonly #errors = new FaultQueue<RequestInfo, ErrorFault>();
  readonly #resets = new FaultQueue<RequestInfo, ResetFault>();
  readonly #watchDroppers = new Set<() => void>();
  #expireNextWatches = 0;
  #silencedWatches = 0;

  /** Adds latency to matching requests until the returned function is called. */
  addLatency(fault: LatencyFault): () => void {
    const copy = { ...fault };
    this.#latencies.add(copy);
    return () => {
      this.#latencies.delete(copy);
    };
  }

  /** The next `count` matching requests are answered with `status` (a Status body). */
  failNext(fault: ErrorFault): void {
    this.#errors.enqueue((request) => matches(fault, request), fault, fault.count ?? 1);
  }

  /** The next `count` matching requests have their connection destroyed without an answer. */
  resetNext(fault: ResetFault = {}): void {
    this.#resets.enqueue((request) => matches(fault, request), fault, fault.count ?? 1);
  }

  /** Ends every open watch stream now, mid-stream (as a load balancer or API server restart does). */
  dropWatches(): number {
    const droppers = [...this.#watchDroppers];
    for (const drop of droppers) drop();
    return droppers.length;
  }

  /** The next `count` watches get an `ERROR` event with a 410 Expired Status instead of events. */
  expireNextWatch(count = 1): void {
    this.#expireNextWatches += count;
  }

  /**
   * Every watch stream, open or opened later, stays connected but sends nothing (a half-open
   * connection, a proxy that buffers) until the returned function is called.
   */
  silenceWatches(): () => void {
    this.#silencedWatches += 1;
    let undone = false;
    return () => {
      if (!undone) this.#silencedWatches -= 1;
      undone = true;
    };
  }

  /** @internal whether watch streams must hold their events back now. */
  watchesSilenced(): boolean {
    return this.#silencedWatches > 0;
  }

  /** Removes every pending fault. */
  clear(): void {
    this.#latencies.clear();
    this.#errors.clear();
    this.#resets.clear();
    this.#expireNextWatches = 0;
    this.#silencedWatches = 0;
  }

  /** @internal the server asks once per request. */
  decide(request: RequestInfo): FaultDecision {
    let delayMs = 0;
    for (const l of this.#latencies) if (matches(l, request)) delayMs += l.delayMs;
    if (this.#resets.take(request)) return { kind: 'reset', delayMs };
    const error = this.#errors.take(request);
    if (error) {
      return {
        kind: 'error',
        delayMs,
        status: error.status,
        retryAfterSeconds: error.retryAfterSeconds ?? 1,
      };
    }
    return { kind: 'none', delayMs };
  }

  /** @internal a watch registers how to drop it; returns the unregister function. */
  registerWatch(drop: () => void): () => void {
    this.#watchDroppers.add(drop);
    return () => {
      this.#watchDroppers.delete(drop);
    };
  }

  /** @internal whether this watch must be expired (consumes one). */
  takeWatchExpiry(): boolean {
    if (this.#expireNextWatches <= 0) return false;
    this.#expireNextWatches -= 1;
    return true;
  }
}

/** One line of the request log (no headers, no bodies: they may hold secrets). */
export interface RequestLogEntry {
  method: string;
  /** The route with names replaced: `/apis/batch/v1/namespaces/{namespace}/jobs/{name}`. */
  route: string;
  path: string;
  watch: boolean;
  status: number;
  user?: string;
}

/** Counts requests per `METHOD route` (watches as `WATCH route`). */
export class RequestCounters {
  readonly entries: RequestLogEntry[] = [];
  readonly #maxEntries: number;
  readonly #counts = new Map<string, number>();

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  record(entry: RequestLogEntry): void {
    const key = `${entry.watch ? 'WATCH' : entry.method} ${entry.route}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.entries.push(entry);
    if (this.entries.length > this.#maxEntries) this.entries.shift();
  }

  /** `{ 'POST /apis/batch/v1/namespaces/{namespace}/jobs': 1, ... }` */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Total requests counted (optionally only those whose key matches). */
  total(filter?: RegExp): number {
    let sum = 0;
    for (const [key, n] of this.#counts) if (!filter || filter.test(key)) sum += n;
    return sum;
  }

  reset(): void {
    this.#counts.clear();
    this.entries.length = 0;
  }
}
