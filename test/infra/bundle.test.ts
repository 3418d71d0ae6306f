/**
 * What `serverless package` ships: self-contained ESM bundles of a reasonable size, and a poller
 * bundle that plain `node` (no tsx, no node_modules) imports and that serves a real task.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type LocalStack, startLocalStack } from '../../infra/local-stack/index.ts';
import { withLocalCluster } from '../../infra/local-stack/worker-on-local-stack.ts';
import {
  type BundleSize,
  importEnvironment,
  measureSizes,
  unpackZip,
} from '../../infra/serverless/measure-bundle.ts';
import { toActivityDefinition } from '../../infra/state-machines/native-resources.ts';
import { loadSeedExample } from '../local-stack/sfn/support.ts';
import { type Packaged, packageService } from './packaged.ts';

const maxZippedBytes = 5 * 1024 * 1024;

/** Runs a script in a fresh plain `node` (ESM, no loaders); resolves with its stdout. */
const runPlainNode = (
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });

describe('the packaged bundles', () => {
  let packaged: Packaged;
  let unpacked: string;
  let sizes: BundleSize[];

  before(async () => {
    packaged = await packageService();
    unpacked = unpackZip(packaged.zipPath);
    sizes = measureSizes(packaged.zipPath);
  });
  after(() => rmSync(unpacked, { recursive: true, force: true }));

  test('holds one ESM bundle and its source map per function, nothing else', () => {
    assert.deepEqual(sizes.map((s) => s.name).sort(), ['poller', 'resumer']);
  });

  test('each function is well under 5 MB zipped (sizes in the diagnostics)', (t) => {
    const zipBytes = readFileSync(packaged.zipPath).length;
    t.diagnostic(`package zip: ${(zipBytes / 1024).toFixed(0)} KiB`);
    for (const size of sizes) {
      t.diagnostic(
        `${size.name}: ${(size.zippedBytes / 1024).toFixed(0)} KiB zipped, ` +
          `${(size.unzippedBytes / 1024).toFixed(0)} KiB unzipped, code ${(size.codeBytes / 1024).toFixed(0)} KiB`,
      );
      assert.ok(size.zippedBytes < maxZippedBytes, `${size.name}: ${size.zippedBytes} bytes`);
    }
    assert.ok(zipBytes < maxZippedBytes, `package: ${zipBytes} bytes`);
  });

  test('the bundles import nothing but Node built-ins (the AWS SDK is inside)', () => {
    const builtins = new Set(builtinModules);
    // The SDK requires these lazily, inside try/catch, only for SigV4a (multi-Region access
    // points); nothing here signs with SigV4a.
    const optionalSdkPackages = new Set(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);
    // Imported on first use by the process host's in-cluster identity only; Lambda never gets there.
    const processOnlyPackages = new Set(['@kubernetes/client-node']);
    for (const size of sizes) {
      const code = readFileSync(join(unpacked, 'functions', `${size.name}.mjs`), 'utf8');
      const specifiers = [
        ...code.matchAll(
          /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([@a-z][\w./@-]*)["']/g,
        ),
      ].map((match) => match[1] as string);
      const foreign = specifiers.filter(
        (specifier) =>
          !specifier.startsWith('node:') &&
          !builtins.has(specifier) &&
          !builtins.has(specifier.split('/')[0] as string) &&
          !optionalSdkPackages.has(specifier) &&
          !processOnlyPackages.has(specifier.split('/').slice(0, 2).join('/')),
      );
      assert.deepEqual([...new Set(foreign)], [], size.name);
    }
  });

  test('the bundles leave @kubernetes/client-node out: the Lambda hosts never use it', () => {
    for (const size of sizes) {
      const code = readFileSync(join(unpacked, 'functions', `${size.name}.mjs`), 'utf8');
      // client-node's own classes would be in a bundle that carried it.
      assert.doesNotMatch(code, /class KubeConfig\b|class FileAuth\b/, size.name);
      assert.ok(size.codeBytes < 1024 * 1024, `${size.name}: ${size.codeBytes} bytes`);
    }
  });

  describe('the poller bundle on the local stack', () => {
    let stack: LocalStack;
    let sfn: SFNClient;
    before(async () => {
      stack = await startLocalStack({ sfn: { longPollHoldMs: 500 } });
      sfn = new SFNClient({
        region: stack.region,
        endpoint: stack.sfn.endpoint,
        credentials: stack.credentials,
      });
    });
    after(async () => {
      sfn.destroy();
      await stack.close();
    });

    test('plain node imports the built poller and its handler answers seed 02 (eks:call)', async () => {
      const { activityArn } = await sfn.send(
        new CreateActivityCommand({ name: 'bundle-eks-call' }),
      );
      assert.ok(activityArn);
      const definition = toActivityDefinition(
        withLocalCluster(loadSeedExample('02-call-list-pods.asl.json'), stack.cluster),
        () => activityArn,
      );
      const { stateMachineArn } = await sfn.send(
        new CreateStateMachineCommand({
          name: 'bundle-seed-02',
          definition: JSON.stringify(definition),
          roleArn: `arn:aws:iam::${stack.accountId}:role/bundle-test`,
        }),
      );
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, input: '{}' }),
      );

      // One short simulated invocation: the handler reads its configuration at import, so the
      // environment is the child's; the Lambda context counts down from 8 s.
      const pollerPath = join(unpacked, 'functions', 'poller.mjs');
      const script = `
        const deadline = Date.now() + 8000;
        const context = {
          functionName: 'eks-activity-worker-test-poller', functionVersion: '$LATEST',
          invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:eks-activity-worker-test-poller',
          memoryLimitInMB: '512', awsRequestId: 'bundle-test', logGroupName: '/aws/lambda/test',
          logStreamName: 'test', callbackWaitsForEmptyEventLoop: true,
          getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
          done() {}, fail() {}, succeed() {},
        };
        const { handler } = await import(${JSON.stringify(pollerPath)});
        const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, context);
        process.stdout.write(JSON.stringify(result ?? null));
        process.exit(0);
      `;
      const run = await runPlainNode(
        script,
        {
          ...importEnvironment,
          ...stack.awsEnvironment(),
          EKS_WORKER_ACTIVITY_ARNS: activityArn,
          EKS_WORKER_NAME: 'bundle-test',
          // As serverless.yml hands the policy to the functions (the default would deny eks:call).
          EKS_WORKER_POLICY: JSON.stringify({
            rules: [
              {
                activities: ['bundle-eks-call'],
                clusters: [stack.cluster.clusterName],
                namespaces: ['default'],
                calls: [{ methods: ['GET'], paths: ['/api/v1/namespaces/default/pods'] }],
              },
            ],
          }),
          ...shortWindowEnvironment,
        },
        30_000,
      );
      assert.equal(run.code, 0, run.stderr);

      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
      const output = JSON.parse(execution.output ?? 'null');
      assert.equal(output.StatusCode, 200);
      assert.equal(output.ResponseBody.kind, 'PodList');
    });
  });
});

/**
 * The Lambda host's knobs that scale its window down for a test: a short long-poll budget
 * (the local Step Functions holds polls 500 ms) and a small finishing budget.
 */
const shortWindowEnvironment: Record<string, string> = {
  EKS_WORKER_LONG_POLL_BUDGET_MS: '1000',
  EKS_WORKER_TASK_FINISH_BUDGET_MS: '2000',
  EKS_WORKER_HANDOFF_RESERVE_MS: '500',
};
