/**
 * The Lambda functions in-process against the local stack and the local SQS: a stand-in for the
 * Lambda service that invokes the poller back to back (the schedule) and feeds the resumer from
 * the hand-off queue the way an SQS event source does (receive, invoke, delete what the batch
 * response does not list as failed). Each invocation gets a fake context whose remaining time
 * counts down from `invocationMs`, so a long task crosses several invocations.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { makePollerHandler } from '../../../functions/poller.ts';
import { makeResumerHandler } from '../../../functions/resumer.ts';
import { type LocalSqs, startSqs } from '../../../infra/local-stack/sqs/server.ts';
import {
  allowEverythingPolicy,
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../../infra/local-stack/worker-on-local-stack.ts';
import { makeSfnClient } from '../../../lib/aws/sfn-activity-client.ts';
import { makeSqsHandOffQueue } from '../../../lib/aws/sqs-hand-off-queue.ts';
import { loadConfig, type WorkerConfig } from '../../../lib/config.ts';
import { composeWorker } from '../../../lib/hosts/compose.ts';
import type { LambdaRuntime } from '../../../lib/hosts/lambda-runtime.ts';
import type { LeaseQueue } from '../../../lib/worker/ports.ts';

/** Metrics that keep their EMF documents instead of printing them. */
export class CapturedMetrics extends Metrics {
  readonly documents: Record<string, unknown>[] = [];
  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) {
      this.documents.push(this.serializeMetrics() as unknown as Record<string, unknown>);
    }
    this.clearMetrics();
    return this;
  }
  /** The sum of a metric over every flushed document. */
  total(name: string): number {
    return this.documents.reduce((sum, document) => {
      const value = document[name];
      if (typeof value === 'number') return sum + value;
      if (Array.isArray(value)) return sum + value.reduce((a: number, b: number) => a + b, 0);
      return sum;
    }, 0);
  }
}

export interface LambdaOnLocalStack {
  env: WorkerOnLocalStack;
  sqs: LocalSqs;
  queueUrl: string;
  metrics: CapturedMetrics;
  /** Every hand-off message body sent (poller hand-offs and resumer re-queues). */
  sentBodies: string[];
  /** Every ChangeMessageVisibility the resumer made (failed records made visible again). */
  visibilityChanges: { receiptHandle: string; visibilitySeconds: number }[];
  invocations: { poller: number; resumer: number };
  /** Records the resumer reported as batch item failures (SQS redelivers them). */
  batchItemFailures: string[];
  /** Changes the simulated function timeout of the next invocations. */
  setInvocationMs(invocationMs: number): void;
  /** Starts invoking the poller and the resumer until `stop`. */
  startLambdaService(): void;
  /** Stops invoking; resolves when every invocation in flight has returned. */
  stopLambdaService(): Promise<void>;
  close(): Promise<void>;
}

/** One SQS second in the local SQS, scaled down so delays and visibility timeouts are short. */
const sqsSecondMs = 1_000;

export const startLambdaOnLocalStack = async (options: {
  invocationMs: number;
  /** The hand-off queue's visibility timeout in real ms. @default twice `invocationMs` */
  visibilityTimeoutMs?: number;
  config?: Partial<WorkerConfig>;
  stack?: Parameters<typeof startWorkerOnLocalStack>[0];
}): Promise<LambdaOnLocalStack> => {
  // Its process worker serves reference runs without hand-offs; tests stop it (`env.worker.stop`)
  // before the Lambda service starts, so only the Lambda functions serve after that.
  const env = await startWorkerOnLocalStack(options.stack);
  const sqs = await startSqs({ secondMs: sqsSecondMs });
  const sqsClient = new SQSClient({
    region: env.stack.region,
    endpoint: sqs.endpoint,
    credentials: env.stack.credentials,
  });
  const dlq = await sqsClient.send(new CreateQueueCommand({ QueueName: 'handoff-dlq' }));
  const created = await sqsClient.send(
    new CreateQueueCommand({
      QueueName: 'handoff',
      Attributes: {
        // At least the function timeout, as Lambda requires of an event source (serverless.yml: equal).
        VisibilityTimeout: String(
          Math.ceil((options.visibilityTimeoutMs ?? options.invocationMs * 2) / sqsSecondMs),
        ),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: `arn:aws:sqs:${env.stack.region}:${env.stack.accountId}:handoff-dlq`,
          maxReceiveCount: 10,
        }),
      },
    }),
  );
  void dlq;
  const queueUrl = created.QueueUrl as string;

  const config = loadConfig(
    { AWS_REGION: env.stack.region },
    {
      activityArns: ['eks-runJob-sync', 'eks-createCluster-sync', 'eks-deleteCluster-sync'].map(
        (suffix) => env.activityArnFor(suffix),
      ),
      workerName: 'lambda-e2e',
      logLevel: 'SILENT',
      pollersPerActivity: 1,
      heartbeatIntervalMs: 1_000,
      jobPollIntervalMs: 500,
      controlPlanePollIntervalMs: 100,
      handOffQueueUrl: queueUrl,
      // The local Step Functions holds a poll 500 ms (harness default); AWS holds 60 s.
      longPollBudgetMs: 800,
      taskFinishBudgetMs: 300,
      handOffReserveMs: 600,
      leaseSeconds: 5,
      // These tests are about hand-offs, not the policy (test/lib/policy, test/e2e/policy).
      policy: allowEverythingPolicy,
      ...options.config,
    },
  );
  const logger = new Logger({ logLevel: 'SILENT' });
  const sfnClient = makeSfnClient({
    maxSockets: 32,
    clientConfig: {
      region: env.stack.region,
      endpoint: env.stack.sfn.endpoint,
      credentials: env.stack.credentials,
    },
  });
  const sentBodies: string[] = [];
  const sqsQueue = makeSqsHandOffQueue({ client: sqsClient, queueUrl });
  const visibilityChanges: { receiptHandle: string; visibilitySeconds: number }[] = [];
  const queue: LeaseQueue = {
    ...sqsQueue,
    send: async (body, sendOptions) => {
      await sqsQueue.send(body, sendOptions);
      sentBodies.push(body);
    },
    changeVisibility: async (receiptHandle, visibilitySeconds) => {
      await sqsQueue.changeVisibility?.(receiptHandle, visibilitySeconds);
      visibilityChanges.push({ receiptHandle, visibilitySeconds });
    },
  };
  const metrics = new CapturedMetrics({ namespace: 'EksActivityWorker', logger });
  // The Lambda runtime as the composition root builds it, on the local stack's endpoints.
  const composition = composeWorker(config, 'lambda-poller', {
    logger,
    sfnClient,
    eksClient: new EKSClient({
      region: env.stack.region,
      endpoint: env.stack.eks.endpoint,
      credentials: env.stack.credentials,
    }),
    credentials: async () => env.stack.credentials,
    handOffQueue: queue,
  });
  const runtime: LambdaRuntime = { ...composition, metrics };
  const poller = makePollerHandler(() => runtime);
  const resumer = makeResumerHandler(() => runtime);
  let invocationMs = options.invocationMs;
  const makeContext = () => {
    const deadlineMs = Date.now() + invocationMs;
    // Only what the handlers read; middy passes the context through.
    return { getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()) } as never;
  };

  const invocations = { poller: 0, resumer: 0 };
  const batchItemFailures: string[] = [];
  let running: AbortController | undefined;
  let loops: Promise<void>[] = [];
  const runPollerSchedule = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      invocations.poller += 1;
      await poller({}, makeContext());
    }
  };
  const runEventSource = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      const received = await sqsClient.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 2,
        }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) continue;
      invocations.resumer += 1;
      const response = await resumer(
        {
          Records: messages.map((message) => ({
            messageId: message.MessageId as string,
            body: message.Body as string,
            receiptHandle: message.ReceiptHandle as string,
          })),
        },
        makeContext(),
      );
      batchItemFailures.push(
        ...response.batchItemFailures.map(
          (item: { itemIdentifier: string }) => item.itemIdentifier,
        ),
      );
      const failed = new Set(
        response.batchItemFailures.map((item: { itemIdentifier: string }) => item.itemIdentifier),
      );
      const done = messages.filter((message) => !failed.has(message.MessageId as string));
      if (done.length > 0) {
        await sqsClient.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle as string,
            })),
          }),
        );
      }
    }
  };

  const stopLambdaService = async () => {
    running?.abort();
    await Promise.all(loops);
    loops = [];
  };
  return {
    env,
    sqs,
    queueUrl,
    metrics,
    sentBodies,
    visibilityChanges,
    invocations,
    batchItemFailures,
    setInvocationMs: (ms) => {
      invocationMs = ms;
    },
    startLambdaService: () => {
      running = new AbortController();
      loops = [runPollerSchedule(running.signal), runEventSource(running.signal)];
    },
    stopLambdaService,
    close: async () => {
      await stopLambdaService();
      composition.close();
      sfnClient.destroy();
      sqsClient.destroy();
      await sqs.close();
      await env.close();
    },
  };
};
