/**
 * Integers beyond 2^53 through the real worker: the task input as GetActivityTask hands it over
 * (text), the Kubernetes requests and responses (the local API server keeps int64 exact, as Go
 * does), parsed logs, and the output as SendTaskSuccess receives it (text). The activity API is
 * the in-memory fake so the test sees both texts byte for byte; everything else is real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { EKSClient } from '@aws-sdk/client-eks';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import { allowEverythingPolicy } from '../../infra/local-stack/worker-on-local-stack.ts';
import { loadConfig } from '../../lib/config.ts';
import { type Composition, composeWorker } from '../../lib/hosts/compose.ts';
import { startWorker, type Worker } from '../../lib/worker/worker.ts';
import { FakeActivityApi } from '../lib/worker/support/fake-activity-api.ts';

const scriptAnnotation = 'local.eks-activity-worker/script';
const jobsType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
/** 2^53 + 1, the first integer a double cannot hold, and a 23-digit one. */
const int64 = '9007199254740993';
const huge = '12345678901234567890123';
const arn = (suffix: string) => `arn:aws:states:us-east-1:123456789012:activity:exact-${suffix}`;

describe('numbers pass through the worker unchanged', () => {
  let stack: LocalStack;
  let api: FakeActivityApi;
  let worker: Worker;
  let composition: Composition;
  let coordinates: string;

  before(async () => {
    stack = await startLocalStack();
    const config = loadConfig(
      { AWS_REGION: stack.region },
      {
        activityArns: [arn('eks-runJob-sync'), arn('eks-call')],
        workerName: 'exact-numbers',
        logLevel: 'SILENT',
        jobPollIntervalMs: 2_000,
        // The default policy denies eks:call; this test is about numbers, not the policy.
        policy: allowEverythingPolicy,
      },
    );
    api = new FakeActivityApi({ longPollMs: 30 });
    composition = composeWorker(config, 'local-stack', {
      logger: new Logger({ logLevel: 'SILENT' }),
      activityApi: api,
      eksClient: new EKSClient({
        region: stack.region,
        endpoint: stack.eks.endpoint,
        credentials: stack.credentials,
      }),
      credentials: async () => stack.credentials,
    });
    worker = startWorker(
      {
        activityArns: config.activityArns,
        workerName: 'exact-numbers',
        maxConcurrentTasks: 4,
        pollersPerActivity: 1,
        heartbeatIntervalMs: 1_000,
        cleanupOnAbandon: true,
        pollBackoff: { baseDelayMs: 1, maxDelayMs: 5 },
      },
      composition,
    );
    const { cluster } = stack;
    coordinates = JSON.stringify({
      ClusterName: cluster.clusterName,
      Endpoint: cluster.endpoint,
      CertificateAuthority: cluster.caData,
    }).slice(1, -1);
  });
  after(async () => {
    await worker?.stop({ graceMs: 100 });
    composition?.close();
    await stack?.close();
  });

  /** Sends `input` (text) as a task and returns the text the worker answered with. */
  const runTask = async (activityArn: string, input: string): Promise<string> => {
    const token = api.enqueue(activityArn, input);
    const deadline = Date.now() + 15_000;
    while (api.answerFor(token) === undefined) {
      if (Date.now() > deadline) throw new Error('no answer within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const answer = api.answerFor(token);
    assert.ok(answer?.kind === 'success', JSON.stringify(answer));
    return answer.output;
  };

  test('runJob.sync: activeDeadlineSeconds 2^53+1 is created as sent, and a JSON log keeps a 23-digit id', async () => {
    const script = JSON.stringify({
      durationMs: 30,
      exitCode: 0,
      log: { lines: [`{"id": ${huge}}`] },
    });
    const input = `{${coordinates},"Job":{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"exact-runjob"},"spec":{"activeDeadlineSeconds":${int64},"backoffLimit":0,"template":{"metadata":{"annotations":{"${scriptAnnotation}":${JSON.stringify(script)}}},"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox"}]}}}},"LogOptions":{"RetrieveLogs":true}}`;

    const output = await runTask(arn('eks-runJob-sync'), input);

    const stored = stack.cluster.store.get(jobsType, 'default', 'exact-runjob') as unknown as {
      spec: { activeDeadlineSeconds: unknown };
    };
    assert.equal(stored.spec.activeDeadlineSeconds, BigInt(int64));
    assert.match(output, new RegExp(`"activeDeadlineSeconds":${int64}[,}]`));
    assert.match(output, new RegExp(`"log":\\{"id":${huge}\\}`));
  });

  test('runJob.sync with the Job as a YAML string keeps the int64 too', async () => {
    const yaml = `apiVersion: batch/v1\nkind: Job\nmetadata: {name: exact-yaml}\nspec:\n  activeDeadlineSeconds: ${int64}\n  template: {spec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}}\n`;
    const output = await runTask(
      arn('eks-runJob-sync'),
      `{${coordinates},"Job":${JSON.stringify(yaml)}}`,
    );
    assert.match(output, new RegExp(`"activeDeadlineSeconds":${int64}[,}]`));
  });

  test('eks:call: a RequestBody int64 reaches the API server exact and comes back in ResponseBody', async () => {
    const created = await runTask(
      arn('eks-call'),
      `{${coordinates},"Method":"POST","Path":"/apis/batch/v1/namespaces/default/jobs","RequestBody":{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"exact-call"},"spec":{"activeDeadlineSeconds":${int64},"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox"}]}}}}}`,
    );
    assert.match(created, new RegExp(`"activeDeadlineSeconds":${int64}[,}]`));
    const read = await runTask(
      arn('eks-call'),
      `{${coordinates},"Method":"GET","Path":"/apis/batch/v1/namespaces/default/jobs/exact-call"}`,
    );
    assert.match(read, new RegExp(`"activeDeadlineSeconds":${int64}[,}]`));
    assert.match(read, /"StatusCode":200/);
  });
});
