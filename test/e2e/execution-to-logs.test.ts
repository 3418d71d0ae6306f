/**
 * From a failed execution to the worker's log lines and the Job, in one step (README,
 * "Operations"): the execution history's ActivityStarted shows the workerName the poll sent; every
 * log line of that task carries it, and the Job the task created is annotated and labelled with it.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import {
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../infra/local-stack/worker-on-local-stack.ts';
import {
  pollIdLabel,
  workerNameAnnotation,
} from '../../lib/integrations/kube-job/mark-job-with-task.ts';
import { captureStdoutJson, type JsonLine } from '../support/capture-stdout.ts';

const { taskLogsQuery } = createRequire(import.meta.url)(
  '../../infra/serverless/monitoring.cjs',
) as { taskLogsQuery: string };
/** The field the stack's saved Logs Insights query filters on. */
const queryField = /\| filter (\w+) = "/.exec(taskLogsQuery)?.[1] ?? '';

const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };

const failingJob = (name: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: {
        annotations: {
          'local.eks-activity-worker/script': JSON.stringify({ durationMs: 50, exitCode: 2 }),
        },
      },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
    },
  },
});

describe('from a failed execution to the log lines and the Job', () => {
  let env: WorkerOnLocalStack;
  let logLines: JsonLine[];
  let workerName: string;

  before(async () => {
    const capture = captureStdoutJson();
    try {
      env = await startWorkerOnLocalStack({ logLevel: 'INFO', config: { workerName: 'ops-host' } });
      const { cluster } = env.stack;
      const run = (name: string) => ({
        Type: 'Task',
        Resource: 'arn:aws:states:::eks:runJob.sync',
        Parameters: {
          ClusterName: cluster.clusterName,
          Endpoint: cluster.endpoint,
          CertificateAuthority: cluster.caData,
          Job: failingJob(name),
        },
      });
      // Two tasks of two executions, so the lines of one must be told from the other's.
      const definition = (name: string) => ({
        StartAt: 'Run',
        States: { Run: { ...run(name), End: true } },
      });
      const [failed, other] = await Promise.all([
        env.createStateMachine(definition('traced')).then((arn) => env.startExecution(arn)),
        env.createStateMachine(definition('other')).then((arn) => env.startExecution(arn)),
      ]);
      const execution = await env.waitForExecution(failed);
      await env.waitForExecution(other);
      assert.equal(execution.status, 'FAILED');
      assert.equal(execution.error, 'EKS.JobFailed');

      // What an operator reads in the console: the ActivityStarted event of the failed execution.
      const started = (await env.history(failed)).find((event) => event.type === 'ActivityStarted');
      workerName = started?.activityStartedEventDetails?.workerName ?? '';
    } finally {
      logLines = capture.stop();
    }
  });
  after(() => env?.close());

  test('the history shows the configured worker name and an id of the poll', () => {
    assert.match(workerName, /^ops-host\/[0-9a-f]{12}$/);
    assert.ok(workerName.length <= 80);
  });

  test('the saved query’s filter finds the whole task in the log lines, and only that task', () => {
    assert.equal(queryField, 'workerName');
    const lines = logLines.filter((line) => line[queryField] === workerName);
    const messages = lines.map((line) => String(line.message));
    assert.ok(messages.includes('Task received'), messages.join(' | '));
    assert.ok(
      lines.some((line) => line.message === 'Task answered' && line.errorName === 'EKS.JobFailed'),
      messages.join(' | '),
    );
    assert.ok(lines.some((line) => String(line.message).startsWith('Job created')));
    // One task: every line names the same task id, and no line of the other task matches.
    assert.equal(new Set(lines.map((line) => line.taskId)).size, 1);
    const otherTaskLines = logLines.filter(
      (line) => line.taskId !== undefined && line.taskId !== lines[0]?.taskId,
    );
    assert.ok(otherTaskLines.length > 0, 'the other execution logged too');
    assert.ok(otherTaskLines.every((line) => line.workerName !== workerName));
  });

  test('the Job carries the workerName as an annotation and the poll id as a label', () => {
    const job = env.stack.cluster.store.get(jobsType, 'default', 'traced') as {
      metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
    };
    assert.ok(job, 'the Job is still there');
    assert.equal(job.metadata.annotations?.[workerNameAnnotation], workerName);
    assert.equal(job.metadata.labels?.[pollIdLabel], workerName.split('/')[1]);
  });
});
