/**
 * A thin adapter over `@aws-sdk/client-eks` for the cluster, node group and Fargate profile
 * create/describe/delete calls. Integrations depend on the `EksControlPlane` port, not on the SDK
 * client, so unit tests can swap in a fake and the worker can share one configured client.
 *
 * Requests and responses keep the SDK's own (camelCase) shapes; turning them into Step Functions'
 * PascalCase is the integrations' business.
 */
import {
  CreateClusterCommand,
  type CreateClusterRequest,
  type CreateClusterResponse,
  CreateFargateProfileCommand,
  type CreateFargateProfileRequest,
  type CreateFargateProfileResponse,
  CreateNodegroupCommand,
  type CreateNodegroupRequest,
  type CreateNodegroupResponse,
  DeleteClusterCommand,
  type DeleteClusterRequest,
  type DeleteClusterResponse,
  DeleteFargateProfileCommand,
  type DeleteFargateProfileRequest,
  type DeleteFargateProfileResponse,
  DeleteNodegroupCommand,
  type DeleteNodegroupRequest,
  type DeleteNodegroupResponse,
  DescribeClusterCommand,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
  DescribeFargateProfileCommand,
  type DescribeFargateProfileRequest,
  type DescribeFargateProfileResponse,
  DescribeNodegroupCommand,
  type DescribeNodegroupRequest,
  type DescribeNodegroupResponse,
  EKSClient,
  type EKSClientConfig,
} from '@aws-sdk/client-eks';
import { isThrottlingName, isTransientStatus } from '../retry/transient.ts';

/** The EKS control-plane calls the create/delete integrations need. Every call honours `signal`. */
export interface EksControlPlane {
  createCluster(
    request: CreateClusterRequest,
    signal?: AbortSignal,
  ): Promise<CreateClusterResponse>;
  describeCluster(
    request: DescribeClusterRequest,
    signal?: AbortSignal,
  ): Promise<DescribeClusterResponse>;
  deleteCluster(
    request: DeleteClusterRequest,
    signal?: AbortSignal,
  ): Promise<DeleteClusterResponse>;
  createNodegroup(
    request: CreateNodegroupRequest,
    signal?: AbortSignal,
  ): Promise<CreateNodegroupResponse>;
  describeNodegroup(
    request: DescribeNodegroupRequest,
    signal?: AbortSignal,
  ): Promise<DescribeNodegroupResponse>;
  deleteNodegroup(
    request: DeleteNodegroupRequest,
    signal?: AbortSignal,
  ): Promise<DeleteNodegroupResponse>;
  createFargateProfile(
    request: CreateFargateProfileRequest,
    signal?: AbortSignal,
  ): Promise<CreateFargateProfileResponse>;
  describeFargateProfile(
    request: DescribeFargateProfileRequest,
    signal?: AbortSignal,
  ): Promise<DescribeFargateProfileResponse>;
  deleteFargateProfile(
    request: DeleteFargateProfileRequest,
    signal?: AbortSignal,
  ): Promise<DeleteFargateProfileResponse>;
}

/**
 * An exception EKS answered with (after the SDK's own retries), reduced to what a task failure
 * needs. `exceptionName` is the modelled name (`ResourceNotFoundException`, ...).
 *
 * It stays here rather than in lib/errors.ts: it is not a task failure but what the
 * {@link EksControlPlane} port throws, and the integrations turn it into `EKS.<ExceptionName>`
 * (`eksExceptionErrorName`). Not to be confused with the EKS stand-in's error answers in
 * infra/local-stack/eks/errors.ts.
 */
export class EksServiceError extends Error {
  readonly exceptionName: string;
  readonly statusCode: number | undefined;
  readonly requestId: string | undefined;
  /** Throttling or a 5xx: the same call may succeed later (lib/retry/transient.ts). */
  readonly retryable: boolean;

  constructor(
    fields: {
      exceptionName: string;
      message: string;
      statusCode?: number | undefined;
      requestId?: string | undefined;
    },
    options?: ErrorOptions,
  ) {
    super(fields.message, options);
    this.name = 'EksServiceError';
    this.exceptionName = fields.exceptionName;
    this.statusCode = fields.statusCode;
    this.requestId = fields.requestId;
    this.retryable =
      isThrottlingName(fields.exceptionName) ||
      (fields.statusCode !== undefined && isTransientStatus(fields.statusCode));
  }
}

/**
 * Retry policy for EKS calls. The SDK's `standard` strategy already retries throttling errors,
 * 429 and 5xx answers and transient network errors with full-jitter exponential back-off (in
 * @smithy/core 3.41: base 50 ms for errors, 1 s for throttling, each delay capped at 20 s) under a
 * client-wide retry quota. We only raise the attempt count from 3 to 6: a cluster create is rare
 * and expensive, and failing a long workflow because EKS throttled twice would be a poor trade.
 * Five throttled retries wait about 15 s on average (31 s at worst), still well inside a
 * heartbeat interval; errors other than throttling retry within about a second.
 */
export const eksRetryDefaults = { retryMode: 'standard', maxAttempts: 6 } as const;

/** Builds an EKS client with {@link eksRetryDefaults}; explicit options win. */
export function makeEksClient(config: EKSClientConfig = {}): EKSClient {
  return new EKSClient({ ...eksRetryDefaults, ...config });
}

/** Wraps an SDK client as the {@link EksControlPlane} port. */
export function makeEksControlPlane(client: EKSClient): EksControlPlane {
  type SendOptions = { abortSignal?: AbortSignal };
  const send = async <Output>(
    signal: AbortSignal | undefined,
    invoke: (options: SendOptions) => Promise<Output>,
  ): Promise<Output> => {
    try {
      return await invoke(signal ? { abortSignal: signal } : {});
    } catch (error) {
      // An aborted call surfaces as the SDK's AbortError; the task wants the reason it was aborted.
      if (signal?.aborted) throw signal.reason;
      throw toEksServiceError(error);
    }
  };
  return {
    createCluster: (request, signal) =>
      send(signal, (options) => client.send(new CreateClusterCommand(request), options)),
    describeCluster: (request, signal) =>
      send(signal, (options) => client.send(new DescribeClusterCommand(request), options)),
    deleteCluster: (request, signal) =>
      send(signal, (options) => client.send(new DeleteClusterCommand(request), options)),
    createNodegroup: (request, signal) =>
      send(signal, (options) => client.send(new CreateNodegroupCommand(request), options)),
    describeNodegroup: (request, signal) =>
      send(signal, (options) => client.send(new DescribeNodegroupCommand(request), options)),
    deleteNodegroup: (request, signal) =>
      send(signal, (options) => client.send(new DeleteNodegroupCommand(request), options)),
    createFargateProfile: (request, signal) =>
      send(signal, (options) => client.send(new CreateFargateProfileCommand(request), options)),
    describeFargateProfile: (request, signal) =>
      send(signal, (options) => client.send(new DescribeFargateProfileCommand(request), options)),
    deleteFargateProfile: (request, signal) =>
      send(signal, (options) => client.send(new DeleteFargateProfileCommand(request), options)),
  };
}

interface ServiceExceptionLike {
  name: string;
  message: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function isServiceException(error: unknown): error is ServiceExceptionLike {
  return (
    error instanceof Error &&
    typeof (error as { $metadata?: unknown }).$metadata === 'object' &&
    (error as { $metadata?: unknown }).$metadata !== null
  );
}

/**
 * Keeps errors that are not answers from EKS (DNS, connection refused, credentials that cannot be
 * loaded) as they are: they carry no exception name, and the worker's outcome boundary reports
 * them.
 */
function toEksServiceError(error: unknown): unknown {
  if (!isServiceException(error)) return error;
  const statusCode = error.$metadata?.httpStatusCode;
  // Without a status code the SDK never got an HTTP answer (e.g. a socket error it wrapped).
  if (statusCode === undefined) return error;
  return new EksServiceError(
    {
      exceptionName: error.name,
      message: error.message,
      statusCode,
      requestId: error.$metadata?.requestId,
    },
    { cause: error },
  );
}
