/**
 * Error names a state machine can `Catch` on. People read the message; state machines read the
 * name, so these strings are part of the public contract (../shared/spec/contract.md §2.3, §3, §4).
 */
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
} as const;

/** `EKS.401`, `EKS.404`, ... for a non-2xx Kubernetes answer. */
export const kubeStatusErrorName = (statusCode: number): string => `EKS.${statusCode}`;

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
