/**
 * The malformed-input corpus (test/fixtures/malformed-inputs/) through the real worker on the
 * local stack: every task must end with the documented error naming the path at fault, with no
 * request sent to the Kubernetes API server or to EKS, and the worker must keep serving.
 * Prints `tried / refused with the right name / sent anyway` for the report.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scriptAnnotation } from '../../infra/local-stack/kube/kubelet/container-script.ts';
import {
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../infra/local-stack/worker-on-local-stack.ts';

interface CorpusEntry {
  name: string;
  activity: string;
  input: unknown;
  error: string;
  path: string;
}

const corpusDir = join(import.meta.dirname, '../fixtures/malformed-inputs');

/** Expands `{"$repeat": s, "times": n}` and `{"$join": [...]}` (see the corpus README). */
const expand = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(expand);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (typeof record.$repeat === 'string') return record.$repeat.repeat(Number(record.times));
  if (Array.isArray(record.$join)) return record.$join.map(expand).join('');
  return Object.fromEntries(Object.entries(record).map(([key, child]) => [key, expand(child)]));
};

const corpus: CorpusEntry[] = readdirSync(corpusDir)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .flatMap((file) => JSON.parse(readFileSync(join(corpusDir, file), 'utf8')) as CorpusEntry[])
  .map((entry) => ({ ...entry, input: expand(entry.input) }));

const problemPathsOf = (cause: string | undefined): string[] => {
  try {
    const parsed = JSON.parse(cause ?? '') as { problems?: { path?: string }[] };
    return (parsed.problems ?? []).map((problem) => String(problem.path));
  } catch {
    return [];
  }
};

describe('the malformed-input corpus through the worker', () => {
  let env: WorkerOnLocalStack;
  const stateMachines = new Map<string, string>();
  const counts = { tried: 0, refusedWithRightName: 0, sentAnyway: 0 };

  /** Requests that reached a server of the stack: every Kubernetes API server, and EKS. */
  const requestsSent = (): number =>
    env.stack.eks.counters.received +
    [...env.stack.clusters.values()].reduce((sum, cluster) => sum + cluster.requests.total(), 0);

  before(async () => {
    env = await startWorkerOnLocalStack();
    for (const activity of new Set(corpus.map((entry) => entry.activity))) {
      const definition = {
        StartAt: 'Task',
        States: { Task: { Type: 'Task', Resource: env.activityArnFor(activity), End: true } },
      };
      stateMachines.set(activity, await env.createStateMachine(definition));
    }
  });

  after(async () => {
    console.log(
      `malformed-input corpus: tried ${counts.tried} / refused with the right name ${counts.refusedWithRightName} / sent anyway ${counts.sentAnyway}`,
    );
    await env?.close();
  });

  test('the corpus has at least 150 tasks and covers all 15 integrations', () => {
    assert.ok(corpus.length >= 150, `${corpus.length} entries`);
    assert.equal(new Set(corpus.map((entry) => entry.activity)).size, 15);
  });

  for (const entry of corpus) {
    test(`${entry.activity}: ${entry.name}`, async () => {
      const stateMachineArn = stateMachines.get(entry.activity) as string;
      const sentBefore = requestsSent();
      counts.tried += 1;
      const executionArn = await env.startExecution(stateMachineArn, entry.input);
      let execution: Awaited<ReturnType<typeof env.waitForExecution>>;
      try {
        execution = await env.waitForExecution(executionArn, 20_000);
      } catch (error) {
        await env.stopExecution(executionArn);
        counts.sentAnyway += requestsSent() > sentBefore ? 1 : 0;
        throw error;
      }
      const sent = requestsSent() - sentBefore;
      if (sent > 0) counts.sentAnyway += 1;
      const paths = problemPathsOf(execution.cause);
      const right = execution.status === 'FAILED' && execution.error === entry.error && sent === 0;
      if (right && paths.includes(entry.path)) counts.refusedWithRightName += 1;

      assert.equal(execution.status, 'FAILED', execution.output);
      assert.equal(execution.error, entry.error, execution.cause?.slice(0, 500));
      assert.ok(paths.includes(entry.path), `${entry.path} not in ${JSON.stringify(paths)}`);
      assert.equal(sent, 0, 'requests reached the cluster or EKS');
    });
  }

  test('after the corpus the worker still serves valid tasks', async () => {
    const ClusterName = env.stack.cluster.clusterName;
    const call = await env.runExecution(stateMachines.get('eks-call') as string, {
      ClusterName,
      Method: 'GET',
      Path: '/api/v1/namespaces/default/pods',
    });
    assert.equal(call.status, 'SUCCEEDED', call.cause);
    const job = await env.runExecution(stateMachines.get('eks-runJob-sync') as string, {
      ClusterName,
      Job: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'after-the-corpus' },
        spec: {
          template: {
            metadata: { annotations: { [scriptAnnotation]: JSON.stringify({ durationMs: 50 }) } },
            spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
          },
        },
      },
      LogOptions: { RetrieveLogs: true, LogParameters: { tailLines: ['5'] } },
    });
    assert.equal(job.status, 'SUCCEEDED', job.cause);
    assert.equal(JSON.parse(job.output ?? '{}').metadata.name, 'after-the-corpus');
  });
});
