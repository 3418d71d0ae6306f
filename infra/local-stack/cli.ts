/**
 * `npm run local-cluster [-- --worker]`: starts the local stack for people, creates the worker's 15
 * activities in it, prints how to point the AWS SDK, the AWS CLI and kubectl at it and the exact
 * command that starts the worker against it (`--worker` runs that command here), and writes a
 * kubeconfig that authenticates exactly as an EKS kubeconfig does (`aws eks get-token`). Runs
 * until Ctrl-C.
 *
 * Ports: LOCAL_STACK_SFN_PORT (default 8701), LOCAL_STACK_EKS_PORT (8702), LOCAL_STACK_KUBE_PORT
 * (8703), LOCAL_STACK_SQS_PORT (8704); LOCAL_STACK_EXECUTION=local runs containers' commands as host processes (loopback demo).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateActivityCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { stringify } from 'yaml';
import { allActivitySuffixes } from '../state-machines/native-resources.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from './index.ts';

const portFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const port = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  }
  return port;
};

/** A kubeconfig whose user runs `aws eks get-token`, as `aws eks update-kubeconfig` writes it. */
export function makeKubeconfig(stack: LocalStack): string {
  const { cluster } = stack;
  const env = Object.entries({
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
  }).map(([name, value]) => ({ name, value }));
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster.clusterName,
        cluster: { server: cluster.endpoint, 'certificate-authority-data': cluster.caData },
      },
    ],
    users: [
      {
        name: 'local-admin',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: [
              '--region',
              stack.region,
              'eks',
              'get-token',
              '--cluster-name',
              cluster.clusterName,
              '--output',
              'json',
            ],
            env,
            interactiveMode: 'Never',
          },
        },
      },
    ],
    contexts: [
      { name: cluster.clusterName, context: { cluster: cluster.clusterName, user: 'local-admin' } },
    ],
    'current-context': cluster.clusterName,
  });
}

/** How long the stack holds an empty long poll, for people (AWS: 60 s). */
export const localLongPollHoldMs = 5_000;

/** What the activities are called: `local-eks-runJob-sync`, ... (a stage prefix, as deployed). */
export const localActivityPrefix = 'local';

/** Creates the worker's 15 activities through the Step Functions API, as the stack template does. */
export async function createWorkerActivities(stack: LocalStack): Promise<string[]> {
  const sfn = new SFNClient({
    region: stack.region,
    endpoint: stack.sfn.endpoint,
    credentials: stack.credentials,
  });
  try {
    const arns: string[] = [];
    for (const suffix of allActivitySuffixes) {
      const created = await sfn.send(
        new CreateActivityCommand({ name: `${localActivityPrefix}-${suffix}` }),
      );
      arns.push(created.activityArn as string);
    }
    return arns;
  } finally {
    sfn.destroy();
  }
}

/**
 * The hand-off queue and its dead-letter queue, as infra/serverless/hand-off-queue.cjs defines
 * them for AWS: with it, local workers park and carry `.sync` waits, so stopping or killing one
 * fails nothing (start two and try).
 */
export async function createHandOffQueue(stack: LocalStack): Promise<string> {
  const sqs = new SQSClient({
    region: stack.region,
    endpoint: stack.sqs.endpoint,
    credentials: stack.credentials,
  });
  try {
    await sqs.send(new CreateQueueCommand({ QueueName: `${localActivityPrefix}-handoff-dlq` }));
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${localActivityPrefix}-handoff`,
        Attributes: {
          VisibilityTimeout: '900',
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: `arn:aws:sqs:${stack.region}:${stack.accountId}:${localActivityPrefix}-handoff-dlq`,
            maxReceiveCount: 10,
          }),
        },
      }),
    );
    return created.QueueUrl as string;
  } finally {
    sqs.destroy();
  }
}

/** Everything allowed on the local stack's clusters (the file says why it is never deployed). */
const localStackPolicyFile = 'infra/policies/local-stack.yaml';

/** The environment of a worker process serving `activityArns` on this stack. */
export const workerEnvironment = (
  stack: LocalStack,
  activityArns: readonly string[],
  handOffQueueUrl: string,
): Record<string, string> => ({
  ...stack.awsEnvironment(),
  EKS_WORKER_ACTIVITY_ARNS: activityArns.join(','),
  EKS_WORKER_HANDOFF_QUEUE_URL: handOffQueueUrl,
  // Explicit, as a deployment's must be: the default policy allows runJob only.
  EKS_WORKER_POLICY_FILE: localStackPolicyFile,
});

/** The one shell line that starts the worker against the stack, from the project's folder. */
export const workerCommand = (environment: Record<string, string>): string =>
  `${Object.entries(environment)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')} npm start`;

export interface LocalCluster {
  stack: LocalStack;
  activityArns: string[];
  workerEnvironment: Record<string, string>;
  kubeconfigPath: string;
  /** What `npm run local-cluster` prints. */
  banner: string;
}

/** Starts the stack, creates the activities, writes `<dir>/kubeconfig`; the CLI prints `banner`. */
export async function startLocalCluster(options: {
  ports: NonNullable<LocalStackOptions['ports']>;
  execution: 'local' | 'scripted';
  dir: string;
}): Promise<LocalCluster> {
  const { execution } = options;
  const stack = await startLocalStack({
    ports: options.ports,
    kube: { execution },
    // AWS holds an empty GetActivityTask 60 s, and a stopping worker lets its polls finish (a
    // token must never be dropped): 5 s keeps Ctrl-C quick at a few idle polls per second.
    sfn: { longPollHoldMs: localLongPollHoldMs },
  });
  const activityArns = await createWorkerActivities(stack);
  mkdirSync(options.dir, { recursive: true });
  const kubeconfigPath = resolve(options.dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, makeKubeconfig(stack), { mode: 0o600 });
  const handOffQueueUrl = await createHandOffQueue(stack);
  const environment = workerEnvironment(stack, activityArns, handOffQueueUrl);

  const exports = Object.entries(stack.awsEnvironment())
    .map(([name, value]) => `export ${name}=${value}`)
    .join('\n');
  const banner = `Local stack running (containers: ${execution}).

Cluster         ${stack.cluster.clusterName}
Endpoint        ${stack.cluster.endpoint}
CA (base64)     ${stack.cluster.caData.slice(0, 40)}... (full value: DescribeCluster)
Step Functions  ${stack.sfn.endpoint}
EKS             ${stack.eks.endpoint}
SQS             ${stack.sqs.endpoint}
Activities      ${activityArns.length} created: ${stack.activityArn(`${localActivityPrefix}-<suffix>`)}
                (${localActivityPrefix}-eks-runJob-sync, ${localActivityPrefix}-eks-call, ...)
Hand-off queue  ${handOffQueueUrl}
                (durable .sync waits: start a second worker, stop or kill one, nothing fails)

Start the worker against it (another terminal, this folder; or \`npm run local-cluster -- --worker\`):
  ${workerCommand(environment)}

Point the AWS SDK and the AWS CLI at it (test credentials, not secrets):
${exports}

Then, for example (AWS CLI before 2.13 ignores AWS_ENDPOINT_URL_*: pass --endpoint-url):
  aws eks describe-cluster --name ${stack.cluster.clusterName} --endpoint-url ${stack.eks.endpoint}
  aws stepfunctions list-activities --endpoint-url ${stack.sfn.endpoint}
  KUBECONFIG=${kubeconfigPath} kubectl get namespaces     # authenticates with \`aws eks get-token\`

Ctrl-C stops it.`;
  return { stack, activityArns, workerEnvironment: environment, kubeconfigPath, banner };
}

const usage = `Usage: npm run local-cluster [-- --worker]

Starts the local stack (Step Functions, EKS, SQS, a Kubernetes API server) on 127.0.0.1, creates
the worker's 15 activities and prints how to use it, with the command that starts the worker.
  --worker    also start the worker (npm start) against it, its log on this terminal
  -h, --help  show this help
Ports: LOCAL_STACK_SFN_PORT (8701), LOCAL_STACK_EKS_PORT (8702), LOCAL_STACK_KUBE_PORT (8703),
LOCAL_STACK_SQS_PORT (8704); LOCAL_STACK_EXECUTION=local runs containers' commands on this host.
`;

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { worker: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const projectDir = fileURLToPath(new URL('../..', import.meta.url));
  const local = await startLocalCluster({
    ports: {
      sfn: portFromEnv('LOCAL_STACK_SFN_PORT', 8701),
      eks: portFromEnv('LOCAL_STACK_EKS_PORT', 8702),
      kube: portFromEnv('LOCAL_STACK_KUBE_PORT', 8703),
      sqs: portFromEnv('LOCAL_STACK_SQS_PORT', 8704),
    },
    execution: process.env.LOCAL_STACK_EXECUTION === 'local' ? 'local' : 'scripted',
    dir: resolve(projectDir, '.local-stack'),
  });
  console.log(local.banner);

  let worker: ChildProcess | undefined;
  if (values.worker) {
    // The printed command, run here: what `npm start` runs, with the environment above. Node
    // itself rather than npm, so the child is the worker and its exit is the worker's; in a process
    // group of its own, so Ctrl-C reaches it once, as the SIGTERM below (a second signal would
    // cut its graceful stop short).
    worker = spawn(process.execPath, ['--import', 'tsx', 'infra/start.ts'], {
      cwd: projectDir,
      env: { ...process.env, ...local.workerEnvironment },
      stdio: 'inherit',
      detached: true,
    });
    console.log(`\nWorker started (pid ${worker.pid}); its log follows.`);
  }

  const stop = async () => {
    // The worker first: it stops polling and ends its tasks while the stack still answers.
    if (worker && worker.exitCode === null) {
      const exited = new Promise((done) => worker?.once('exit', done));
      worker.kill('SIGTERM');
      await exited;
    }
    await local.stack.close();
  };
  const onSignal = () => {
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('failed to stop the local stack', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
