/**
 * The real {@link ActivityApi}: Step Functions' activity calls through `@aws-sdk/client-sfn`.
 * Region, credentials and endpoint come from the SDK's own configuration chain
 * (`AWS_REGION`, `AWS_ENDPOINT_URL_SFN`, profiles, container/instance roles).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  type SFNClientConfig,
} from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ActivityApi } from '../worker/ports.ts';

/**
 * GetActivityTask holds the connection up to 60 s before answering empty; the socket timeout must
 * be above that with margin (contract §5), or the client would give up on a poll that could still
 * return a task, and that task would be lost until its timeout.
 */
export const activityRequestTimeoutMs = 70_000;

/** Options of {@link makeSfnActivityApi}. */
export interface SfnActivityApiOptions {
  /**
   * Sockets to keep open: one per concurrent long poll plus one per running task (heartbeats and
   * answers). Pass maxConcurrentTasks + pollers; more sockets than that only idle.
   */
  readonly maxSockets: number;
  /** Extra client settings (region, endpoint, credentials), mainly for tests and the local stack. */
  readonly clientConfig?: SFNClientConfig;
  /** How long a request may go unanswered before it fails. @default activityRequestTimeoutMs */
  readonly requestTimeoutMs?: number;
}

/** Builds the SDK client with the timeouts, connection pool and retry policy the worker needs. */
export const makeSfnClient = (options: SfnActivityApiOptions): SFNClient => {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  return new SFNClient({
    // The SDK's retries are off: the worker retries every call itself, with full jitter and much
    // longer bounds (answers: minutes), and logs each failure. SDK retries would multiply
    // attempts under throttling (the token bucket is shared by the whole account) and hide errors.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: options.requestTimeoutMs ?? activityRequestTimeoutMs,
      // Without it the handler only logs a warning and the call waits forever: a heartbeat loop or
      // an answer stuck on a dead connection would never be retried (seen at 5,000 tasks).
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    }),
    ...options.clientConfig,
  });
};

/**
 * An ActivityApi over a Step Functions client. GetActivityTask is never given an abort signal
 * (see {@link ActivityApi.getActivityTask}); the other calls pass theirs through.
 */
export const makeSfnActivityApi = (client: SFNClient): ActivityApi => ({
  getActivityTask: async ({ activityArn, workerName }) => {
    const response = await client.send(new GetActivityTaskCommand({ activityArn, workerName }));
    return {
      ...(response.taskToken === undefined ? {} : { taskToken: response.taskToken }),
      ...(response.input === undefined ? {} : { input: response.input }),
    };
  },
  sendTaskSuccess: async ({ taskToken, output }, signal) => {
    await client.send(
      new SendTaskSuccessCommand({ taskToken, output }),
      signal ? { abortSignal: signal } : {},
    );
  },
  sendTaskFailure: async ({ taskToken, error, cause }, signal) => {
    await client.send(
      new SendTaskFailureCommand({ taskToken, error, cause }),
      signal ? { abortSignal: signal } : {},
    );
  },
  sendTaskHeartbeat: async ({ taskToken }, signal) => {
    await client.send(
      new SendTaskHeartbeatCommand({ taskToken }),
      signal ? { abortSignal: signal } : {},
    );
  },
});
