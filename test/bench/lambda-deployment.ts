/**
 * The Lambda deployment as `npm run package` builds it from serverless.yml (osls and
 * serverless-esbuild, offline; test/infra/packaged.ts caches the package): the functions' bundles,
 * unpacked as Lambda's /var/task, and from the CloudFormation template every setting the local
 * Lambda service needs (memory, timeout, reserved concurrency, environment, the poller's schedule
 * and async-invoke limits, the resumer's SQS event source mapping, the hand-off queues). A bench
 * that reads them here simulates the deployment people get, not a copy that drifts from it.
 */
import { rmSync } from 'node:fs';
import { unpackZip } from '../../infra/serverless/measure-bundle.ts';
import { type CfnResource, type CfnTemplate, packageService } from '../infra/packaged.ts';

/** One function as the template defines it. */
export interface PackagedFunction {
  /** The bundle under `taskRoot` (`functions/<name>.mjs`) and its export. */
  modulePath: string;
  exportName: string;
  memorySizeMb: number;
  timeoutSeconds: number;
  /** ReservedConcurrentExecutions; undefined: unreserved. */
  reservedConcurrency: number | undefined;
  /** The literal environment variables; those the template computes are in `computedEnv`. */
  environment: Record<string, string>;
  /** The variables given as CloudFormation expressions (ARNs, the queue URL), by name. */
  computedEnv: Record<string, unknown>;
}

export interface LambdaDeployment {
  /** The unpacked package (Lambda's /var/task); `close` removes it. */
  taskRoot: string;
  poller: PackagedFunction & {
    scheduleRateSeconds: number;
    /** Async invocation settings (EventInvokeConfig): a throttled tick is retried this long. */
    maximumEventAgeSeconds: number;
    maximumRetryAttempts: number;
  };
  resumer: PackagedFunction;
  eventSource: {
    batchSize: number;
    maximumBatchingWindowSeconds: number;
    maximumConcurrency: number | undefined;
    functionResponseTypes: 'ReportBatchItemFailures'[];
  };
  queue: { visibilityTimeoutSeconds: number; retentionSeconds: number; maxReceiveCount: number };
  deadLetterRetentionSeconds: number;
  /** Activity names in the order of EKS_WORKER_ACTIVITY_ARNS (stage `test`). */
  activityNames: string[];
  close(): void;
}

const byType = (template: CfnTemplate, type: string): [string, CfnResource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

/** `{ "Fn::GetAtt": [id, ...] }` or `{ Ref: id }` -> id. */
const referencedId = (value: unknown): string | undefined => {
  const node = value as { 'Fn::GetAtt'?: [string]; Ref?: string } | undefined;
  return node?.['Fn::GetAtt']?.[0] ?? node?.Ref;
};

const parseRateSeconds = (expression: string): number => {
  const match = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression);
  if (!match) throw new Error(`unsupported schedule ${expression}`);
  return Number(match[1]) * (match[2]?.startsWith('hour') ? 3600 : 60);
};

const readFunction = (template: CfnTemplate, handler: string): [string, PackagedFunction] => {
  const found = byType(template, 'AWS::Lambda::Function').find(
    ([, resource]) => resource.Properties.Handler === handler,
  );
  if (!found) throw new Error(`the template has no function with handler ${handler}`);
  const [id, { Properties: p }] = found;
  const variables = (p.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const environment: Record<string, string> = {};
  const computedEnv: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(variables ?? {})) {
    if (typeof value === 'string') environment[name] = value;
    else computedEnv[name] = value;
  }
  const dot = handler.lastIndexOf('.');
  return [
    id,
    {
      modulePath: `${handler.slice(0, dot)}.mjs`,
      exportName: handler.slice(dot + 1),
      memorySizeMb: Number(p.MemorySize),
      timeoutSeconds: Number(p.Timeout),
      reservedConcurrency:
        p.ReservedConcurrentExecutions === undefined
          ? undefined
          : Number(p.ReservedConcurrentExecutions),
      environment,
      computedEnv,
    },
  ];
};

/** Packages (or reuses the package), unpacks the bundles and reads the template. */
export const loadLambdaDeployment = async (): Promise<LambdaDeployment> => {
  const { template, zipPath } = await packageService();
  const [pollerId, poller] = readFunction(template, 'functions/poller.handler');
  const [resumerId, resumer] = readFunction(template, 'functions/resumer.handler');

  const rule = byType(template, 'AWS::Events::Rule').find(([, r]) =>
    (r.Properties.Targets as { Arn: unknown }[]).some((t) => referencedId(t.Arn) === pollerId),
  );
  const invokeConfig = byType(template, 'AWS::Lambda::EventInvokeConfig').find(
    ([, r]) => referencedId(r.Properties.FunctionName) === pollerId,
  );
  const mapping = byType(template, 'AWS::Lambda::EventSourceMapping').find(
    ([, r]) => referencedId(r.Properties.FunctionName) === resumerId,
  );
  if (!rule || !invokeConfig || !mapping) {
    throw new Error('the template lacks the poller schedule or the resumer event source');
  }
  const m = mapping[1].Properties;
  const queueId = referencedId(m.EventSourceArn) ?? '';
  const queue = template.Resources[queueId]?.Properties ?? {};
  const redrive = queue.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
  const dlq = template.Resources[referencedId(redrive.deadLetterTargetArn) ?? '']?.Properties;

  const arnList =
    (poller.computedEnv.EKS_WORKER_ACTIVITY_ARNS as { 'Fn::Join'?: [string, unknown[]] })?.[
      'Fn::Join'
    ]?.[1] ?? [];
  const activityNames = arnList.map((ref) =>
    String(template.Resources[referencedId(ref) ?? '']?.Properties.Name),
  );

  const taskRoot = unpackZip(zipPath);
  return {
    taskRoot,
    poller: {
      ...poller,
      scheduleRateSeconds: parseRateSeconds(String(rule[1].Properties.ScheduleExpression)),
      maximumEventAgeSeconds: Number(invokeConfig[1].Properties.MaximumEventAgeInSeconds),
      maximumRetryAttempts: Number(invokeConfig[1].Properties.MaximumRetryAttempts),
    },
    resumer,
    eventSource: {
      batchSize: Number(m.BatchSize),
      maximumBatchingWindowSeconds: Number(m.MaximumBatchingWindowInSeconds ?? 0),
      maximumConcurrency: (m.ScalingConfig as { MaximumConcurrency?: number } | undefined)
        ?.MaximumConcurrency,
      functionResponseTypes: (m.FunctionResponseTypes ?? []) as 'ReportBatchItemFailures'[],
    },
    queue: {
      visibilityTimeoutSeconds: Number(queue.VisibilityTimeout),
      retentionSeconds: Number(queue.MessageRetentionPeriod),
      maxReceiveCount: Number(redrive.maxReceiveCount),
    },
    deadLetterRetentionSeconds: Number(dlq?.MessageRetentionPeriod),
    activityNames,
    close: () => rmSync(taskRoot, { recursive: true, force: true }),
  };
};
