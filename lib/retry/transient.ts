/**
 * The one answer to "may the same call succeed if it is tried again later?". Every retry loop in
 * `lib/` (answers, heartbeats, the Kubernetes client, EKS waits, Job waits, shared watches) asks
 * it here, so throttling, a 5xx or a dropped connection is treated alike whichever API it came from.
 * How long to wait before trying again is `backoff.ts`'s business; how many tries a loop allows is
 * its own.
 */
/** Throttling (429) and server errors (5xx): the server may answer differently later. */
export const isTransientStatus = (statusCode: number): boolean =>
  statusCode === 429 || statusCode >= 500;

/**
 * AWS error names that mean throttling whatever HTTP status came with them: ThrottlingException,
 * KmsThrottlingException, Throttling, TooManyRequestsException, RequestLimitExceeded and the
 * services' LimitExceededException. Not EKS's ResourceLimitExceededException: that is a quota,
 * and waiting does not raise it.
 */
export const isThrottlingName = (name: string): boolean =>
  /throttl|toomanyrequests|^(request)?limitexceeded/i.test(name);

/**
 * A failed TLS handshake or certificate check (Node's `ERR_TLS_*`, `CERT_*`, `*_SIGNATURE` codes)
 * repeats identically: the CA or the endpoint is wrong, not the network.
 */
export const isTlsFailureCode = (code: string): boolean =>
  code.startsWith('ERR_TLS') || /CERT|SIGNATURE/.test(code);

/**
 * A request on a reused keep-alive connection that the server had already closed: it was never
 * processed, so repeating it (idempotent methods only) is safe at once, before calling the
 * connection failed.
 */
export const isConnectionResetCode = (code: string): boolean =>
  code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED';

/**
 * A connection that never opened (refused, timed out while connecting, no route, a DNS lookup
 * that failed for now): the request was never sent, so an idempotent one is safe to repeat after
 * a backoff. A busy API server or a node under load answers the next try.
 */
export const isConnectFailureCode = (code: string): boolean =>
  code === 'ECONNREFUSED' ||
  code === 'ETIMEDOUT' ||
  code === 'EHOSTUNREACH' ||
  code === 'ENETUNREACH' ||
  code === 'EAI_AGAIN';

interface ErrorShape {
  retryable?: unknown;
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * Whether trying the same call again later may succeed:
 * - an error that says so itself is believed (`retryable` of a TaskFailedError or an
 *   EksServiceError, set from the rules below where it is made);
 * - an answer with a throttling name, or with status 429 or 5xx, is transient; any other answer
 *   (4xx) is not;
 * - no answer at all (socket, DNS, timeout, an unknown shape) is transient unless TLS failed:
 *   retrying a bounded number of times costs little, giving up may lose a task.
 */
export const isTransientError = (error: unknown): boolean => {
  const shape = (error ?? {}) as ErrorShape;
  if (typeof shape.retryable === 'boolean') return shape.retryable;
  if (typeof shape.name === 'string' && isThrottlingName(shape.name)) return true;
  const status =
    typeof shape.statusCode === 'number' ? shape.statusCode : shape.$metadata?.httpStatusCode;
  if (typeof status === 'number') return isTransientStatus(status);
  return !(typeof shape.code === 'string' && isTlsFailureCode(shape.code));
};
