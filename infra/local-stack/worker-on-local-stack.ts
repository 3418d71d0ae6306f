/**
 * The whole product on one machine: the local stack (Step Functions, EKS, a cluster) and the real
 * worker, in-process, wired as a deployment wires it except for endpoints and keys. The end-to-end
 * tests and the demo drive it only through Step Functions executions, as a state machine would.
 */

import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { makeSfnClient } from '../../lib/aws/sfn-activity-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { composeWorker } from '../../lib/hosts/compose.ts';
import { parsePolicyDocument } from '../../lib/policy/document.ts';
import { startWorker, type Worker, type WorkerOptions } from '../../lib/worker/worker.ts';
import { allActivitySuffixes, toActivityDefinition } from '../state-machines/native-resources.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from './index.ts';

export interface WorkerOnLocalStack {
  stack: LocalStack;
  worker: Worker;
  sfn: SFNClient;
  /** The activity ARN serving an integration suffix (`eks-runJob-sync`). */
  activityArnFor(suffix: string): string;
  /** Creates a state machine from a native definition (EKS resources swapped for activities). */
  createStateMachine(nativeDefinition: unknown, name?: string): Promise<string>;
  /** Starts an execution and waits for its end. */
  runExecution(
    stateMachineArn: string,
    input?: unknown,
    options?: { timeoutMs?: number },
  ): Promise<DescribeExecutionCommandOutput>;
  startExecution(stateMachineArn: string, input?: unknown): Promise<string>;
  waitForExecution(
    executionArn: string,
    timeoutMs?: number,
  ): Promise<DescribeExecutionCommandOutput>;
  stopExecution(executionArn: string): Promise<void>;
  history(executionArn: string): Promise<HistoryEvent[]>;
  close(): Promise<void>;
}

let sequence = 0;

/**
 * The harness's policy unless a test or the demo sets `config.policy` or `config.policyFile`:
 * everything allowed, so tests of other behaviour need not restate a policy. Never the worker's
 * own default (lib/policy/document.ts: runJob only); the demo runs under
 * infra/policies/seed-examples.yaml.
 */
export const allowEverythingDocument = {
  rules: [
    {
      name: 'local-stack tests: everything',
      activities: ['*'],
      clusters: ['*'],
      namespaces: ['*'],
      clusterScoped: true,
      calls: [{ methods: ['*'], paths: ['/**'] }],
      operations: ['*'],
      passRoles: ['arn:*:iam::*:role/*'],
    },
  ],
};
export const allowEverythingPolicy = parsePolicyDocument(
  allowEverythingDocument,
  'local-stack tests (allow everything)',
);

/** The policy the demo and the seed test run under: the ten seed workflows and nothing more. */
export const seedExamplesPolicyFile = fileURLToPath(
  new URL('../policies/seed-examples.yaml', import.meta.url),
);

export async function startWorkerOnLocalStack(
  options: {
    stack?: LocalStackOptions;
    worker?: Partial<WorkerOptions>;
    config?: Parameters<typeof loadConfig>[1];
    /** The worker's log level. @default 'SILENT' */
    logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
    /** The worker's logger (tests that read its lines); replaces `logLevel`. */
    logger?: Logger;
  } = {},
): Promise<WorkerOnLocalStack> {
  const stack = await startLocalStack({
    ...options.stack,
    // Short holds let the worker stop quickly at the end of a test; AWS holds 60 s.
    sfn: { longPollHoldMs: 500, ...options.stack?.sfn },
    eksTimings: {
      clusterCreatingMs: 200,
      clusterDeletingMs: 200,
      nodegroupCreatingMs: 200,
      nodegroupDeletingMs: 200,
      fargateProfileCreatingMs: 200,
      fargateProfileDeletingMs: 200,
      ...options.stack?.eksTimings,
    },
  });
  const clientConfig = {
    region: stack.region,
    endpoint: stack.sfn.endpoint,
    credentials: stack.credentials,
  };
  const sfn = new SFNClient(clientConfig);
  const prefix = `test${++sequence}`;
  const activityArns: Record<string, string> = {};
  for (const suffix of allActivitySuffixes) {
    const out = await sfn.send(new CreateActivityCommand({ name: `${prefix}-${suffix}` }));
    activityArns[suffix] = out.activityArn as string;
  }

  const config = loadConfig(
    { AWS_REGION: stack.region },
    {
      activityArns: Object.values(activityArns),
      workerName: 'e2e-worker',
      logLevel: 'SILENT',
      jobPollIntervalMs: 2_000,
      controlPlanePollIntervalMs: 100,
      ...(options.config?.policyFile === undefined ? { policy: allowEverythingPolicy } : {}),
      ...options.config,
    },
  );
  const logger =
    options.logger ??
    new Logger({
      serviceName: 'eks-activity-worker',
      logLevel: options.logLevel ?? 'SILENT',
    });
  // The worker as a deployment composes it, but for the endpoints and keys of the local stack.
  const activityClient = makeSfnClient({ maxSockets: 64, clientConfig });
  const composition = composeWorker(config, 'local-stack', {
    logger,
    sfnClient: activityClient,
    eksClient: new EKSClient({
      region: stack.region,
      endpoint: stack.eks.endpoint,
      credentials: stack.credentials,
    }),
    credentials: async () => stack.credentials,
  });
  composition.logPolicy();
  const worker = startWorker(
    {
      ...composition.workerOptions,
      pollersPerActivity: 1,
      pollBackoff: { baseDelayMs: 50, maxDelayMs: 500 },
      ...options.worker,
    },
    composition,
  );

  const waitForExecution = async (executionArn: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== 'RUNNING') return execution;
      if (Date.now() > deadline) throw new Error(`execution still RUNNING after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const startExecution = async (stateMachineArn: string, input: unknown = {}) => {
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    return out.executionArn as string;
  };

  return {
    stack,
    worker,
    sfn,
    activityArnFor: (suffix) => {
      const arn = activityArns[suffix];
      if (!arn) throw new Error(`no activity for ${suffix}`);
      return arn;
    },
    createStateMachine: async (nativeDefinition, name = `sm-${prefix}-${++sequence}`) => {
      const definition = toActivityDefinition(
        nativeDefinition as Record<string, unknown>,
        (suffix) => {
          const arn = activityArns[suffix];
          if (!arn) throw new Error(`no activity for ${suffix}`);
          return arn;
        },
      );
      const out = await sfn.send(
        new CreateStateMachineCommand({
          name,
          definition: JSON.stringify(definition),
          roleArn: `arn:aws:iam::${stack.accountId}:role/e2e`,
        }),
      );
      return out.stateMachineArn as string;
    },
    startExecution,
    waitForExecution,
    runExecution: async (stateMachineArn, input = {}, runOptions = {}) =>
      waitForExecution(await startExecution(stateMachineArn, input), runOptions.timeoutMs),
    stopExecution: async (executionArn) => {
      await sfn.send(
        new StopExecutionCommand({
          executionArn,
          error: 'Test.Stopped',
          cause: 'stopped by the test',
        }),
      );
    },
    history: async (executionArn) => {
      const out = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
      );
      return out.events ?? [];
    },
    close: async () => {
      await worker.stop({ graceMs: 0 });
      composition.close();
      activityClient.destroy();
      sfn.destroy();
      await stack.close();
    },
  };
}

/** Swaps a seed example's cluster coordinates for a local cluster's, as a user would. */
export const withLocalCluster = (
  definition: Record<string, unknown>,
  cluster: { clusterName: string; endpoint: string; caData: string },
): Record<string, unknown> => {
  const text = JSON.stringify(definition);
  const swapped = JSON.parse(text, (_key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && 'ClusterName' in value) {
      const parameters = {
        ...(value as Record<string, unknown>),
        ClusterName: cluster.clusterName,
      };
      if ('Endpoint' in parameters) parameters.Endpoint = cluster.endpoint;
      if ('CertificateAuthority' in parameters) parameters.CertificateAuthority = cluster.caData;
      return parameters;
    }
    return value;
  });
  return swapped as Record<string, unknown>;
};
