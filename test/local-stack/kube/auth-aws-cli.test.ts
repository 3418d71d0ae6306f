/**
 * The user's own path into the local cluster: tokens printed by `aws eks get-token` (the real AWS
 * CLI), and kubectl with an EKS-style kubeconfig that runs it as a credential plugin.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { makeKubeconfig } from '../../../infra/local-stack/cli.ts';
import { localIdentities, localRegion } from '../../../infra/local-stack/identities.ts';
import { type LocalStack, startLocalStack } from '../../../infra/local-stack/index.ts';
import { requestRaw } from './support/kube-test-env.ts';

const run = promisify(execFile);
const toolsBin = resolve('.tools/bin');
const skip = !existsSync(join(toolsBin, 'aws')) && 'AWS CLI not installed (npm run tools)';

const cliEnv = (secretAccessKey: string) => ({
  PATH: `${toolsBin}:${process.env.PATH}`,
  AWS_ACCESS_KEY_ID: localIdentities.admin.accessKeyId,
  AWS_SECRET_ACCESS_KEY: secretAccessKey,
  AWS_DEFAULT_REGION: localRegion,
  AWS_EC2_METADATA_DISABLED: 'true',
  HOME: tmpdir(),
});

const getToken = async (clusterName: string, secretAccessKey: string): Promise<string> => {
  const { stdout } = await run(
    join(toolsBin, 'aws'),
    ['eks', 'get-token', '--cluster-name', clusterName, '--output', 'json'],
    { env: cliEnv(secretAccessKey) },
  );
  return (JSON.parse(stdout) as { status: { token: string } }).status.token;
};

describe('aws eks get-token and kubectl against the local cluster', { skip }, () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startLocalStack();
  });
  after(() => stack.close());

  test('a token from aws eks get-token with the test credentials is accepted', async () => {
    const token = await getToken(stack.cluster.clusterName, localIdentities.admin.secretAccessKey);
    const response = await requestRaw(stack.cluster, token, 'GET', '/api/v1/namespaces');
    assert.equal(response.status, 200);
  });

  test('the same with a wrong secret is refused with 401 Unauthorized', async () => {
    const token = await getToken(stack.cluster.clusterName, 'not-the-secret');
    const response = await requestRaw(stack.cluster, token, 'GET', '/api/v1/namespaces');
    assert.equal(response.status, 401);
    assert.equal((response.json as { reason?: string }).reason, 'Unauthorized');
  });

  test('the same for another cluster name is refused with 401 Unauthorized', async () => {
    const token = await getToken('another-cluster', localIdentities.admin.secretAccessKey);
    const response = await requestRaw(stack.cluster, token, 'GET', '/api/v1/namespaces');
    assert.equal(response.status, 401);
  });

  test('kubectl with the kubeconfig npm run local-cluster writes (exec: aws eks get-token) lists namespaces', async () => {
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(kubeconfig, makeKubeconfig(stack));
    const { stdout } = await run(
      join(toolsBin, 'kubectl'),
      ['get', 'namespaces', '-o', 'name', '--kubeconfig', kubeconfig],
      { env: cliEnv(localIdentities.admin.secretAccessKey) },
    );
    assert.match(stdout, /namespace\/kube-system/);
  });
});
