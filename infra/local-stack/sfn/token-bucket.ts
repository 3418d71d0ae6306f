/** Throttling settings: AWS's defaults are 3,000 burst / 500 per second in the largest Regions. */
export interface ThrottlingConfig {
  /** Tokens available at once (bucket size). */
  burst: number;
  /** Tokens added back per second. */
  refillPerSecond: number;
}

/**
 * A token bucket, as AWS throttles `GetActivityTask` and `SendTask*` together: one bucket shared
 * by those operations, each request takes one token, `ThrottlingException` when none is left.
 */
export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number;

  constructor(
    private readonly config: ThrottlingConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = config.burst;
    this.lastRefillMs = now();
  }

  /** Takes one token; false means the request is throttled. */
  tryTake(): boolean {
    const nowMs = this.now();
    const refill = ((nowMs - this.lastRefillMs) / 1000) * this.config.refillPerSecond;
    this.tokens = Math.min(this.config.burst, this.tokens + refill);
    this.lastRefillMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
