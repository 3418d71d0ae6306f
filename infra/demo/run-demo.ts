/**
 * The main job on one machine: starts the local stack (containers run as host processes, so the
 * `pi-2000` Job really computes its digits) and the worker, deploys the ten seed workflows as they
 * are deployed to AWS (`infra/state-machines/`, activity ARNs substituted), runs them in an order
 * that makes sense on an empty account, and prints each execution's status and output.
 * Exits 0 when every execution succeeded.
 *
 * Order: the cluster is created first (04), so the Kubernetes workflows run against the API server
 * that `CreateCluster` provisioned, with the `Endpoint` and `CertificateAuthority` EKS reports for
 * it, exactly as a user would fill them in; the delete workflows run last.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  seedExamplesPolicyFile,
  startWorkerOnLocalStack,
  withLocalCluster,
} from '../local-stack/worker-on-local-stack.ts';
import { substitute, toSubstitutionKey } from '../state-machines/build.ts';
import { allActivitySuffixes } from '../state-machines/native-resources.ts';

const stateMachinesDir = join(dirname(fileURLToPath(import.meta.url)), '../state-machines');

const workflows = [
  { file: '04-create-cluster-sync.asl.json', onCluster: false },
  { file: '06-create-fargate-profile-sync.asl.json', onCluster: false },
  { file: '08-create-nodegroup-sync.asl.json', onCluster: false },
  { file: '01-runjob-sync-with-logs.asl.json', onCluster: true },
  { file: '02-call-list-pods.asl.json', onCluster: true },
  { file: '03-call-delete-job.asl.json', onCluster: true },
  { file: '10-call-create-aws-auth-configmap.asl.json', onCluster: true },
  { file: '07-delete-fargate-profile-sync.asl.json', onCluster: false },
  { file: '09-delete-nodegroup-sync.asl.json', onCluster: false },
  { file: '05-delete-cluster-sync.asl.json', onCluster: false },
] as const;

/** A finished Job shown by what a reader looks for: its conditions and its logs. */
const summariseJob = (job: Record<string, unknown>): unknown => {
  const status = job.status as { conditions?: { type: string; status: string }[] } | undefined;
  return {
    kind: job.kind,
    name: (job.metadata as { name?: string } | undefined)?.name,
    conditions: status?.conditions?.map((c) => `${c.type}=${c.status}`),
    logs: job.logs,
  };
};

/** Long strings (the 2000 digits of pi, CA data) cut for the terminal. */
const preview = (output: unknown, maxChars = 1_200): string => {
  const value =
    output && typeof output === 'object' && (output as { kind?: unknown }).kind === 'Job'
      ? summariseJob(output as Record<string, unknown>)
      : output;
  const text = JSON.stringify(
    value,
    (_key, inner) =>
      typeof inner === 'string' && inner.length > 120
        ? `${inner.slice(0, 100)}… (${inner.length} chars)`
        : inner,
    2,
  );
  return text.length > maxChars ? `${text.slice(0, maxChars)}\n…` : text;
};

export async function runDemo(print: (line: string) => void = console.log): Promise<boolean> {
  print('Starting the local stack and the worker…');
  const env = await startWorkerOnLocalStack({
    stack: { kube: { execution: 'local' } },
    logLevel: 'WARN',
    // Local processes (perl computing pi) can take a while on a small machine. The policy is the
    // documented one that enables the ten seed workflows (README: Security model).
    config: { heartbeatIntervalMs: 5_000, policyFile: seedExamplesPolicyFile },
  });
  const substitutions = Object.fromEntries(
    allActivitySuffixes.map((suffix) => [toSubstitutionKey(suffix), env.activityArnFor(suffix)]),
  );
  let allSucceeded = true;
  try {
    for (const { file, onCluster } of workflows) {
      let definition = substitute(
        JSON.parse(readFileSync(join(stateMachinesDir, file), 'utf8')) as Record<string, unknown>,
        substitutions,
      );
      if (onCluster) {
        const cluster = env.stack.clusters.get('MyCluster');
        if (!cluster) throw new Error('MyCluster was not created');
        definition = withLocalCluster(definition, cluster);
      }
      const startedMs = Date.now();
      const execution = await env.runExecution(
        await env.createStateMachine(definition),
        {},
        {
          timeoutMs: 300_000,
        },
      );
      const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
      print(`\n=== ${file}: ${execution.status} in ${seconds} s`);
      if (execution.status === 'SUCCEEDED') {
        print(preview(JSON.parse(execution.output ?? 'null')));
      } else {
        allSucceeded = false;
        print(`error: ${execution.error}\ncause: ${execution.cause}`);
      }
    }
  } finally {
    await env.close();
  }
  print(allSucceeded ? '\nAll ten workflows succeeded.' : '\nSome workflows failed.');
  return allSucceeded;
}
