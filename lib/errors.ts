/**
 * Every error name a state machine can `Catch` on, and the task-failure classes that carry them.
 * People read the message; state machines read the name, so these strings are part of the public
 * contract (../shared/spec/contract.md §2.3, §3, §4).
 *
 * Error classes elsewhere, and why they stay there:
 * - `PolicyDeniedError` (lib/policy/guard.ts) carries `EKS.PolicyDenied` but is made from the
 *   policy's own Decision type; importing policy types here would turn the dependency around.
 * - `ClusterNotFoundError` (lib/aws/eks-cluster-lookup.ts) is an `EKS.ResourceNotFoundException`
 *   the look-up's cache and trust decisions tell apart by class.
 * - `EksServiceError` (lib/aws/eks-control-plane.ts) is what the EKS port throws, not yet a task
 *   failure: the integrations name it `EKS.<ExceptionName>` with {@link eksExceptionErrorName}.
 * - `TaskAbortedError` (lib/integrations/types.ts) is an abort reason, not a failure.
 * - `JsonNestingTooDeepError`, `HandOffMessageError`, `ConfigError`, `PolicyDocumentError` and
 *   `WorkerConfigurationError` never reach a state machine: their modules' callers handle them.
 */
import { isTlsFailureCode, isTransientStatus } from './retry/transient.ts';

export const ErrorName = {
  InvalidParameters: 'EKS.InvalidParameters',
  EndpointNotTrusted: 'EKS.EndpointNotTrusted',
  ConnectionFailed: 'EKS.ConnectionFailed',
  OutputTooLarge: 'EKS.OutputTooLarge',
  WorkerInterrupted: 'EKS.WorkerInterrupted',
  JobFailed: 'EKS.JobFailed',
  ClusterFailed: 'EKS.ClusterFailed',
  NodegroupFailed: 'EKS.NodegroupFailed',
  FargateProfileFailed: 'EKS.FargateProfileFailed',
  /** The worker's policy does not allow the task (README "Security model"); nothing was sent. */
  PolicyDenied: 'EKS.PolicyDenied',
  /**
   * Anything an integration throws that is not a TaskFailedError (a bug, an unexpected library
   * error): a stable name a state machine can `Catch`, while the cause carries the original
   * error's type and message.
   */
  WorkerError: 'EKS.WorkerError',
  /**
   * Not a task failure: the `error` of one container's entry in the runJob output's `logs` when
   * that log could not be read for a reason other than a Kubernetes answer.
   */
  LogReadFailed: 'EKS.LogReadFailed',
} as const;

/**
 * `EKS.401`, `EKS.404`, ... for a non-2xx Kubernetes answer. Code that decides on a status reads
 * the number ({@link kubeStatusOf}), never this name.
 */
export const kubeStatusErrorName = (statusCode: number): string => `EKS.${statusCode}`;

/** Kubernetes answers the worker acts on by their status (others are only passed on). */
export const KubeStatus = {
  NotFound: 404,
  Conflict: 409,
  /** A watch's resourceVersion has left the server's history. */
  Gone: 410,
} as const;

/** `EKS.ResourceInUseException`, ... for an EKS API exception. */
export const eksExceptionErrorName = (exceptionName: string): string => `EKS.${exceptionName}`;

/**
 * The one error type an integration throws to fail its task with a chosen name and cause.
 * `cause` is what Step Functions shows as the failure cause: a JSON-serialisable value (preferred,
 * it is cut to size while staying valid JSON) or a plain string.
 */
export class TaskFailedError extends Error {
  readonly errorName: string;
  readonly failureCause: unknown;
  /** Whether trying the same input again may succeed (throttling, 5xx, connection resets). */
  readonly retryable: boolean;

  constructor(
    errorName: string,
    message: string,
    options: { cause?: unknown; failureCause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TaskFailedError';
    this.errorName = errorName;
    this.failureCause = options.failureCause ?? { message };
    this.retryable = options.retryable ?? false;
  }
}

/** One problem with a task input, located by a JSON path such as `$.Job.spec.template`. */
export interface InputProblem {
  path: string;
  message: string;
}

/** `EKS.InvalidParameters`, listing every problem found (nothing was sent to any cluster). */
export class InvalidParametersError extends TaskFailedError {
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[]) {
    const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    super(ErrorName.InvalidParameters, `Invalid parameters: ${summary}`, {
      failureCause: { message: 'The task input is invalid.', problems },
    });
    this.name = 'InvalidParametersError';
    this.problems = problems;
  }
}

/** A non-2xx Kubernetes answer: `EKS.<status>` with the contract's cause (§2.3). */
export class KubeStatusError extends TaskFailedError {
  /** The HTTP status: the truth the name is made from. */
  readonly statusCode: number;
  readonly responseBody: unknown;

  constructor(statusCode: number, statusText: string, responseBody: unknown) {
    super(kubeStatusErrorName(statusCode), `Kubernetes API answered ${statusCode} ${statusText}`, {
      failureCause: {
        ...(responseBody === undefined ? {} : { ResponseBody: responseBody }),
        StatusCode: statusCode,
        StatusText: statusText,
      },
      retryable: isTransientStatus(statusCode),
    });
    this.name = 'KubeStatusError';
    this.statusCode = statusCode;
    this.responseBody = responseBody;
  }
}

/** The status of a non-2xx Kubernetes answer; undefined for any other error. */
export const kubeStatusOf = (error: unknown): number | undefined =>
  error instanceof KubeStatusError ? error.statusCode : undefined;

/** `EKS.ConnectionFailed`: no answer from the API server (socket, DNS, TLS, a broken stream). */
export class KubeConnectionError extends TaskFailedError {
  /** Node's error code (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...) or `UNKNOWN`. */
  readonly code: string;

  constructor(endpoint: string, error: unknown) {
    const { code = 'UNKNOWN', message } = (error ?? {}) as { code?: string; message?: string };
    super(
      ErrorName.ConnectionFailed,
      `Cannot reach the Kubernetes API server at ${endpoint}: ${code}`,
      {
        cause: error,
        failureCause: { Endpoint: endpoint, Code: code, Message: message ?? String(error) },
        retryable: !isTlsFailureCode(code),
      },
    );
    this.name = 'KubeConnectionError';
    this.code = code;
  }
}
