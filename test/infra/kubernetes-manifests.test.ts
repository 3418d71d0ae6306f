/**
 * deploy/kubernetes/: the real kubectl (with its built-in kustomize) applies the manifests to the
 * local API server, first as a server-side dry run, then for real; and the settings a safe
 * deployment of this worker depends on are checked in the rendered objects.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { localIdentities } from '../../infra/local-stack/identities.ts';
import {
  type LocalKubeCluster,
  startLocalKubeCluster,
} from '../../infra/local-stack/kube/cluster.ts';
import { tokenFor } from '../local-stack/kube/support/kube-test-env.ts';

const kubectlPath = new URL('../../.tools/bin/kubectl', import.meta.url).pathname;
const manifests = new URL('../../deploy/kubernetes', import.meta.url).pathname;

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field
  spec?: any;
}

describe('the Kubernetes manifests (deploy/kubernetes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
  let cluster: LocalKubeCluster;
  let kubeconfig: string;
  let rendered: KubeObject[];

  const kubectl = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        kubectlPath,
        ['--kubeconfig', kubeconfig, ...args],
        { timeout: 30_000, env: { PATH: process.env.PATH ?? '', HOME: dir } },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

  const find = (kind: string): KubeObject => {
    const found = rendered.find((o) => o.kind === kind);
    assert.ok(found, `a ${kind}`);
    return found;
  };

  before(async () => {
    cluster = await startLocalKubeCluster({ clusterName: 'manifests' });
    kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'local',
            cluster: { server: cluster.endpoint, 'certificate-authority-data': cluster.caData },
          },
        ],
        users: [{ name: 'admin', user: { token: await tokenFor(localIdentities.admin, cluster) } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin' } }],
        'current-context': 'local',
      }),
    );
    const built = await kubectl(['kustomize', manifests]);
    assert.equal(built.code, 0, built.stderr);
    rendered = parseAllDocuments(built.stdout).map((doc) => doc.toJS() as KubeObject);
  });

  after(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl apply -k --dry-run=server is accepted and stores nothing', async () => {
    const dryRun = await kubectl(['apply', '-k', manifests, '--dry-run=server']);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /deployment\.apps\/eks-activity-worker created \(server dry run\)/);
    const got = await kubectl(['get', 'namespace', 'eks-activity-worker']);
    assert.notEqual(got.code, 0, 'a dry run creates nothing');
  });

  test('kubectl apply -k creates every object, and a second apply changes nothing', async () => {
    const applied = await kubectl(['apply', '-k', manifests]);
    assert.equal(applied.code, 0, applied.stderr);
    const got = await kubectl(['get', '-k', manifests, '-o', 'json']);
    assert.equal(got.code, 0, got.stderr);
    const stored = JSON.parse(got.stdout).items as KubeObject[];
    assert.deepEqual(
      stored.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(),
      rendered.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(),
    );
    assert.equal(rendered.length, 7);
    const again = await kubectl(['apply', '-k', manifests]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /created/);
  });

  test('the termination grace covers a 60 s long poll plus the shutdown grace plus a margin', () => {
    const deployment = find('Deployment');
    const configMap = find('ConfigMap') as KubeObject & { data: Record<string, string> };
    const shutdownGraceSeconds = Number(configMap.data.EKS_WORKER_SHUTDOWN_GRACE_MS) / 1000;
    assert.equal(shutdownGraceSeconds, 25);
    // 5 s to send the last answers; carried waits go back at the signal, inside this already.
    assert.ok(
      deployment.spec.template.spec.terminationGracePeriodSeconds >= 60 + shutdownGraceSeconds + 5,
    );
  });

  test('the ConfigMap names the process stack’s hand-off queue, so a rollout or a kill fails no wait', () => {
    const { data } = find('ConfigMap') as KubeObject & { data: Record<string, string> };
    // serverless.process.yml's queue, <service>-<stage>-handoff (output HandOffQueueUrl), in the
    // Region and of the stage of the activities it serves.
    const url =
      /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/\d{12}\/eks-activity-worker-process-([A-Za-z0-9-]+)-handoff$/.exec(
        data.EKS_WORKER_HANDOFF_QUEUE_URL ?? '',
      );
    assert.ok(url, `an SQS queue URL: ${data.EKS_WORKER_HANDOFF_QUEUE_URL}`);
    assert.equal(url[1], data.AWS_REGION);
    for (const arn of (data.EKS_WORKER_ACTIVITY_ARNS ?? '').split(',')) {
      assert.match(arn.trim(), new RegExp(`:activity:${url[2]}-eks-`), arn);
    }
  });

  test('the ConfigMap leaves the task slots at the default 200, which keeps 15 activities polled', () => {
    const { data } = find('ConfigMap') as KubeObject & { data: Record<string, string> };
    // 20 slots starved pick-up with 15 activities (README, "Picking up tasks").
    assert.equal(data.EKS_WORKER_MAX_CONCURRENT_TASKS, undefined);
  });

  test('liveness and readiness probe the worker health endpoint it is configured to serve', () => {
    const pod = find('Deployment').spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(
      container.env
        .filter((e: { value?: string }) => e.value)
        .map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    assert.equal(String(port.containerPort), env.EKS_WORKER_HTTP_PORT);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
  });

  test('the pod runs as non-root with a read-only root filesystem and no capabilities', () => {
    const pod = find('Deployment').spec.template.spec;
    const container = pod.containers[0];
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok(container.resources.requests.memory && container.resources.limits.memory);
  });

  test('the PodDisruptionBudget selects the worker pods, and the ServiceAccount is the pods’ own', () => {
    const deployment = find('Deployment');
    const pdb = find('PodDisruptionBudget');
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    const account = find('ServiceAccount');
    assert.equal(deployment.spec.template.spec.serviceAccountName, account.metadata.name);
    assert.match(
      account.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '',
      /^arn:aws:iam::/,
    );
    const binding = rendered.find((o) => o.kind === 'RoleBinding') as KubeObject & {
      subjects: { kind: string; name: string; namespace: string }[];
    };
    assert.deepEqual(binding.subjects[0], {
      kind: 'ServiceAccount',
      name: account.metadata.name,
      namespace: account.metadata.namespace,
    });
  });
});
