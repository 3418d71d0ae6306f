/**
 * kubectl's imperative commands and printed tables against the local API server, as against a
 * real one: `create configmap|job` and `auth can-i` send protobuf bodies, `get` asks for a Table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import {
  type LocalKubeCluster,
  startLocalKubeCluster,
} from '../../../infra/local-stack/kube/cluster.ts';
import { builtinTypes } from '../../../infra/local-stack/kube/resource-types.ts';
import { testClusterName, tokenFor } from './support/kube-test-env.ts';
import { runKubectl, writeKubeconfig } from './support/kubectl.ts';
import { waitUntil } from './support/store-cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubectl-imperative-'));
let cluster: LocalKubeCluster;
let admin: string;
let editor: string;
let nobody: string;
const kubectl = (args: string[], config = admin) => runKubectl(dir, config, args);

before(async () => {
  cluster = await startLocalKubeCluster({
    clusterName: testClusterName,
    podStartDelayMs: 20,
    defaultRunMs: 50,
  });
  admin = writeKubeconfig(dir, 'admin', cluster, await tokenFor(localIdentities.admin, cluster));
  editor = writeKubeconfig(
    dir,
    'editor',
    cluster,
    await tokenFor(localIdentities.teamEditor, cluster),
  );
  nobody = writeKubeconfig(
    dir,
    'nobody',
    cluster,
    await tokenFor(localIdentities.noPermissions, cluster),
  );
});
after(async () => {
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

const jobsType = builtinTypes.jobs;
const configMapsType = builtinTypes.configmaps;

describe('kubectl imperative commands (protobuf request bodies)', () => {
  test('create configmap stores the data as sent', async () => {
    const result = await kubectl([
      'create',
      'configmap',
      'settings',
      '--from-literal=mode=fast',
      '--from-literal=big=9007199254740993',
      '--from-literal=empty=',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /configmap\/settings created/);
    const stored = cluster.store.get(configMapsType, 'default', 'settings') as unknown as {
      data: Record<string, string>;
      metadata: Record<string, unknown>;
    };
    assert.deepEqual(stored.data, { mode: 'fast', big: '9007199254740993', empty: '' });
    assert.equal('generation' in stored.metadata, false);
  });

  test('create job runs the Job with the command given, and get prints its columns', async () => {
    const result = await kubectl(['create', 'job', 'hello', '--image=busybox', '--', 'echo', 'hi']);
    assert.equal(result.code, 0, result.stderr);
    const stored = cluster.store.get(jobsType, 'default', 'hello') as unknown as {
      spec: {
        template: { spec: { containers: { name: string; image: string; command: string[] }[] } };
      };
    };
    const [container] = stored.spec.template.spec.containers;
    assert.deepEqual(
      { name: container?.name, image: container?.image, command: container?.command },
      { name: 'hello', image: 'busybox', command: ['echo', 'hi'] },
    );
    await waitUntil(
      () => cluster.store.get(jobsType, 'default', 'hello'),
      (job) => JSON.stringify(job?.status ?? {}).includes('"Complete"'),
    );

    const jobs = await kubectl(['get', 'jobs']);
    const [header, row] = jobs.stdout.trim().split('\n');
    assert.deepEqual(header?.split(/\s+/), ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    assert.match(row ?? '', /^hello\s+Complete\s+1\/1\s+\d+s\s+\d+s$/);

    const pods = await kubectl(['get', 'pods', '-l', 'job-name=hello']);
    const [podHeader, podRow] = pods.stdout.trim().split('\n');
    assert.deepEqual(podHeader?.split(/\s+/), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    assert.match(podRow ?? '', /^hello-\w+\s+0\/1\s+Completed\s+0\s+\d+s$/);
  });

  test('get configmaps and namespaces print their columns; -o name still gives names', async () => {
    const configMaps = await kubectl(['get', 'configmaps', 'settings']);
    assert.match(configMaps.stdout, /^NAME\s+DATA\s+AGE\nsettings\s+3\s+\d+s\n$/);
    const namespaces = await kubectl(['get', 'namespaces']);
    assert.match(namespaces.stdout, /^NAME\s+STATUS\s+AGE\n/);
    assert.match(namespaces.stdout, /\ndefault\s+Active\s+\d+s\n/);
    const names = await kubectl(['get', 'jobs', '-o', 'name']);
    assert.equal(names.stdout.trim(), 'job.batch/hello');
  });

  test('create secret, namespace and deployment work too', async () => {
    const secret = await kubectl(['create', 'secret', 'generic', 'token', '--from-literal=k=v']);
    assert.equal(secret.code, 0, secret.stderr);
    const stored = cluster.store.get(builtinTypes.secrets, 'default', 'token') as unknown as {
      data: Record<string, string>;
      type: string;
    };
    assert.deepEqual(stored.data, { k: Buffer.from('v').toString('base64') });
    assert.equal(stored.type, 'Opaque');
    const namespace = await kubectl(['create', 'namespace', 'made-by-kubectl']);
    assert.equal(namespace.code, 0, namespace.stderr);
    const deployment = await kubectl(['create', 'deployment', 'web', '--image=nginx']);
    assert.equal(deployment.code, 0, deployment.stderr);
    const web = cluster.store.get(builtinTypes.deployments, 'default', 'web') as unknown as {
      spec: { replicas: number; selector: unknown };
    };
    assert.equal(web.spec.replicas, 1);
    assert.deepEqual(web.spec.selector, { matchLabels: { app: 'web' } });
  });

  test('auth can-i answers from the server RBAC: admin, an editor of team-a, nobody', async () => {
    const ask = async (config: string, ...args: string[]) => {
      const result = await kubectl(['auth', 'can-i', ...args], config);
      assert.equal(result.stderr.replace(/^Warning:.*$/gm, '').trim(), '', result.stderr);
      return result.stdout.trim();
    };
    assert.equal(await ask(admin, 'create', 'jobs'), 'yes');
    assert.equal(await ask(editor, 'create', 'jobs', '-n', 'team-a'), 'yes');
    assert.equal(await ask(editor, 'create', 'jobs', '-n', 'default'), 'no');
    assert.equal(await ask(editor, 'list', 'namespaces'), 'yes');
    assert.equal(await ask(nobody, 'get', 'pods'), 'no');
  });

  test('auth can-i --list lists the rules of the user in the namespace', async () => {
    const adminRules = await kubectl(['auth', 'can-i', '--list']);
    assert.equal(adminRules.code, 0, adminRules.stderr);
    assert.match(adminRules.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
    const editorRules = await kubectl(['auth', 'can-i', '--list', '-n', 'team-a'], editor);
    assert.match(editorRules.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
    const editorElsewhere = await kubectl(['auth', 'can-i', '--list', '-n', 'default'], editor);
    assert.doesNotMatch(editorElsewhere.stdout, /^\*\.\*\s/m);
    assert.match(editorElsewhere.stdout, /^namespaces\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
  });

  test('a refused create still fails as Forbidden (the protobuf body changes nothing)', async () => {
    const result = await kubectl(['create', 'configmap', 'x', '--from-literal=a=b'], nobody);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Forbidden|forbidden/);
  });
});
