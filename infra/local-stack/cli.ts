/**
 * `npm run local-cluster`: starts the local stack for people, prints how to point the AWS SDK, the
 * AWS CLI, kubectl and the worker at it, and writes a kubeconfig that authenticates exactly as an
 * EKS kubeconfig does (`aws eks get-token`). Runs until Ctrl-C.
 *
 * Ports: LOCAL_STACK_SFN_PORT (default 8701), LOCAL_STACK_EKS_PORT (8702), LOCAL_STACK_KUBE_PORT
 * (8703), LOCAL_STACK_SQS_PORT (8704); LOCAL_STACK_EXECUTION=local runs containers' commands as host processes (loopback demo).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { type LocalStack, startLocalStack } from './index.ts';

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

async function main(): Promise<void> {
  const execution = process.env.LOCAL_STACK_EXECUTION === 'local' ? 'local' : 'scripted';
  const stack = await startLocalStack({
    ports: {
      sfn: portFromEnv('LOCAL_STACK_SFN_PORT', 8701),
      eks: portFromEnv('LOCAL_STACK_EKS_PORT', 8702),
      kube: portFromEnv('LOCAL_STACK_KUBE_PORT', 8703),
      sqs: portFromEnv('LOCAL_STACK_SQS_PORT', 8704),
    },
    kube: { execution },
  });
  const dir = resolve('.local-stack');
  mkdirSync(dir, { recursive: true });
  const kubeconfigPath = resolve(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, makeKubeconfig(stack), { mode: 0o600 });

  const exports = Object.entries(stack.awsEnvironment())
    .map(([name, value]) => `export ${name}=${value}`)
    .join('\n');
  console.log(`Local stack running (containers: ${execution}).

Cluster         ${stack.cluster.clusterName}
Endpoint        ${stack.cluster.endpoint}
CA (base64)     ${stack.cluster.caData.slice(0, 40)}... (full value: DescribeCluster)
Step Functions  ${stack.sfn.endpoint}
EKS             ${stack.eks.endpoint}
SQS             ${stack.sqs.endpoint}
Activity ARNs   ${stack.activityArn('<name>')}

Point the AWS SDK, the AWS CLI and the worker at it (test credentials, not secrets):
${exports}

Then, for example (AWS CLI before 2.13 ignores AWS_ENDPOINT_URL_*: pass --endpoint-url):
  aws eks describe-cluster --name ${stack.cluster.clusterName} --endpoint-url ${stack.eks.endpoint}
  aws stepfunctions list-activities --endpoint-url ${stack.sfn.endpoint}
  KUBECONFIG=${kubeconfigPath} kubectl get namespaces     # authenticates with \`aws eks get-token\`

Ctrl-C stops it.`);

  const stop = () => {
    stack.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('failed to stop the local stack', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
