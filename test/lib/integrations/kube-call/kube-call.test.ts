import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { localIdentities } from '../../../../infra/local-stack/identities.ts';
import type { KubeApiServer } from '../../../../infra/local-stack/kube/server.ts';
import { makeClusterCertificates } from '../../../../infra/local-stack/kube/tls.ts';
import type { TaskFailedError } from '../../../../lib/errors.ts';
import { makeKubeCallIntegration } from '../../../../lib/integrations/kube-call/kube-call.ts';
import type { Integration, TaskContext } from '../../../../lib/integrations/types.ts';
import { connectorFor, startServer } from '../../kube/support/local-kube.ts';

/** A seed example's task Parameters, with the cluster coordinates swapped for the local server. */
const seedParameters = (file: string, server: KubeApiServer): Record<string, unknown> => {
  const machine = JSON.parse(
    readFileSync(new URL(`../../../fixtures/seed-examples/${file}`, import.meta.url), 'utf8'),
  ) as { StartAt: string; States: Record<string, { Resource: string; Parameters: object }> };
  const state = machine.States[machine.StartAt];
  assert.equal(state?.Resource, 'arn:aws:states:::eks:call');
  return {
    ...state.Parameters,
    ClusterName: server.clusterName,
    Endpoint: server.endpoint,
    CertificateAuthority: server.caData,
  };
};

const makeContext = (): TaskContext => ({
  signal: AbortSignal.timeout(5000),
  logger: new Logger({ logLevel: 'SILENT' }),
  activityName: 'test-eks-call',
});

describe('eks:call against the local API server', () => {
  let server: KubeApiServer;
  let admin: ReturnType<typeof connectorFor>;
  let call: Integration;
  const run = (input: unknown) => call.run(input, makeContext());
  const coordinates = () => ({
    ClusterName: server.clusterName,
    Endpoint: server.endpoint,
    CertificateAuthority: server.caData,
  });

  before(async () => {
    server = await startServer();
    admin = connectorFor(server, localIdentities.admin);
    call = makeKubeCallIntegration({ connector: admin.connector });
  });
  after(async () => {
    admin.connector.close();
    await server.close();
  });

  test('is selected by activity names ending in eks-call', () => {
    assert.equal(call.activitySuffix, 'eks-call');
  });

  test('seed 02: lists the pods matching a labelSelector', async () => {
    for (const [name, labels] of [
      ['example-job-abcde', { 'job-name': 'example-job' }],
      ['unrelated', { app: 'other' }],
    ] as const) {
      await run({
        ...coordinates(),
        Method: 'POST',
        Path: '/api/v1/namespaces/default/pods',
        RequestBody: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, labels },
          spec: { containers: [{ name: 'main', image: 'busybox' }] },
        },
      });
    }
    const output = (await run(seedParameters('02-call-list-pods.asl.json', server))) as {
      ResponseBody: { kind: string; items: { metadata: { name: string } }[] };
      StatusCode: number;
      StatusText: string;
    };
    assert.equal(output.StatusCode, 200);
    assert.equal(output.StatusText, 'OK');
    assert.equal(output.ResponseBody.kind, 'PodList');
    assert.deepEqual(
      output.ResponseBody.items.map((pod) => pod.metadata.name),
      ['example-job-abcde'],
    );
  });

  test('seed 03: deletes a Job with propagationPolicy Foreground', async () => {
    await run({
      ...coordinates(),
      Method: 'POST',
      Path: '/apis/batch/v1/namespaces/default/jobs',
      RequestBody: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'example-job' },
        spec: {
          template: {
            spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
          },
        },
      },
    });
    const output = (await run(seedParameters('03-call-delete-job.asl.json', server))) as {
      ResponseBody: { kind: string; status?: string; details?: { name?: string } };
      StatusCode: number;
    };
    assert.equal(output.StatusCode, 200);
    // Removed at once (no finalizers left), so the API server answers a Success Status.
    assert.equal(output.ResponseBody.kind, 'Status');
    assert.equal(output.ResponseBody.status, 'Success');
    assert.equal(output.ResponseBody.details?.name, 'example-job');
    await assert.rejects(
      run({
        ...coordinates(),
        Method: 'GET',
        Path: '/apis/batch/v1/namespaces/default/jobs/example-job',
      }),
      { errorName: 'EKS.404' },
    );
  });

  test('seed 10: creates the aws-auth ConfigMap, then a second create is EKS.409', async () => {
    const parameters = seedParameters('10-call-create-aws-auth-configmap.asl.json', server);
    const output = (await run(parameters)) as {
      ResponseBody: { kind: string; metadata: { name: string; namespace: string }; data: object };
      StatusCode: number;
      StatusText: string;
    };
    assert.equal(output.StatusCode, 201);
    assert.equal(output.StatusText, 'Created');
    assert.equal(output.ResponseBody.kind, 'ConfigMap');
    assert.equal(output.ResponseBody.metadata.name, 'aws-auth');
    assert.equal(output.ResponseBody.metadata.namespace, 'kube-system');
    assert.deepEqual(Object.keys(output.ResponseBody.data).sort(), ['mapRoles', 'mapUsers']);

    await assert.rejects(run(parameters), (error: TaskFailedError) => {
      assert.equal(error.errorName, 'EKS.409');
      const cause = error.failureCause as {
        ResponseBody: { kind: string; reason: string; code: number };
        StatusCode: number;
        StatusText: string;
      };
      assert.equal(cause.StatusCode, 409);
      assert.equal(cause.StatusText, 'Conflict');
      assert.equal(cause.ResponseBody.kind, 'Status');
      assert.equal(cause.ResponseBody.reason, 'AlreadyExists');
      assert.equal(cause.ResponseBody.code, 409);
      return true;
    });
  });

  test('a missing object is EKS.404 with the Status as cause', async () => {
    await assert.rejects(
      run({ ...coordinates(), Method: 'GET', Path: '/api/v1/namespaces/default/configmaps/nope' }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.404');
        assert.deepEqual(Object.keys(error.failureCause as object), [
          'ResponseBody',
          'StatusCode',
          'StatusText',
        ]);
        return true;
      },
    );
  });

  test('an invalid object is EKS.422', async () => {
    await assert.rejects(
      run({
        ...coordinates(),
        Method: 'POST',
        Path: '/api/v1/namespaces/default/configmaps',
        RequestBody: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'Not_A_Valid_Name' },
        },
      }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.422');
        assert.equal((error.failureCause as { StatusCode: number }).StatusCode, 422);
        return true;
      },
    );
  });

  test('a YAML string body is created as YAML', async () => {
    const output = (await run({
      ...coordinates(),
      Method: 'POST',
      Path: '/api/v1/namespaces/default/configmaps',
      RequestBody: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n',
    })) as { ResponseBody: { data: Record<string, string> }; StatusCode: number };
    assert.equal(output.StatusCode, 201);
    assert.deepEqual(output.ResponseBody.data, { k: 'v' });
  });

  test('PATCH with an object merges, with an array applies a JSON Patch', async () => {
    const path = '/api/v1/namespaces/default/configmaps/from-yaml';
    await run({ ...coordinates(), Method: 'PATCH', Path: path, RequestBody: { data: { m: '1' } } });
    const output = (await run({
      ...coordinates(),
      Method: 'PATCH',
      Path: path,
      RequestBody: [{ op: 'remove', path: '/data/k' }],
    })) as { ResponseBody: { data: Record<string, string> } };
    assert.deepEqual(output.ResponseBody.data, { m: '1' });
  });

  test('HEAD answers without a ResponseBody', async () => {
    const output = await run({
      ...coordinates(),
      Method: 'HEAD',
      Path: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
    });
    assert.deepEqual(output, { StatusCode: 200, StatusText: 'OK' });
  });

  test('a body that is not JSON is returned as a string', async () => {
    const output = await run({ ...coordinates(), Method: 'GET', Path: '/healthz' });
    assert.deepEqual(output, { ResponseBody: 'ok', StatusCode: 200, StatusText: 'OK' });
  });

  test('omitted Endpoint and CertificateAuthority are looked up', async () => {
    const output = (await run({
      ClusterName: server.clusterName,
      Method: 'GET',
      Path: '/api/v1/namespaces/default/pods',
    })) as { StatusCode: number };
    assert.equal(output.StatusCode, 200);
  });

  test('an unmapped identity gets EKS.401 (after one retry with a fresh token)', async () => {
    const unmapped = connectorFor(server, localIdentities.unmapped);
    const integration = makeKubeCallIntegration({ connector: unmapped.connector });
    await assert.rejects(
      integration.run(
        { ...coordinates(), Method: 'GET', Path: '/api/v1/namespaces' },
        makeContext(),
      ),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.401');
        assert.equal((error.failureCause as { StatusText: string }).StatusText, 'Unauthorized');
        return true;
      },
    );
    assert.equal(unmapped.counts.invalidated, 1);
    unmapped.connector.close();
  });

  test('an identity without permissions gets EKS.403', async () => {
    const noPermissions = connectorFor(server, localIdentities.noPermissions);
    const integration = makeKubeCallIntegration({ connector: noPermissions.connector });
    await assert.rejects(
      integration.run(
        { ...coordinates(), Method: 'GET', Path: '/api/v1/namespaces' },
        makeContext(),
      ),
      { errorName: 'EKS.403' },
    );
    noPermissions.connector.close();
  });

  test('a CertificateAuthority that did not sign the server is EKS.ConnectionFailed', async () => {
    const otherCaData = (await makeClusterCertificates()).caData;
    await assert.rejects(
      run({ ...coordinates(), CertificateAuthority: otherCaData, Method: 'GET', Path: '/version' }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.ConnectionFailed');
        assert.equal((error.failureCause as { Endpoint: string }).Endpoint, server.endpoint);
        return true;
      },
    );
  });

  test('an allow-listed endpoint on a closed port is EKS.ConnectionFailed ECONNREFUSED', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const closed = `https://127.0.0.1:${port}`;
    const allowed = connectorFor(server, localIdentities.admin, { allowedEndpoints: [closed] });
    const integration = makeKubeCallIntegration({ connector: allowed.connector });
    await assert.rejects(
      integration.run(
        { ...coordinates(), Endpoint: closed, Method: 'GET', Path: '/version' },
        makeContext(),
      ),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.ConnectionFailed');
        assert.deepEqual(
          { ...(error.failureCause as object), Message: undefined },
          { Endpoint: closed, Code: 'ECONNREFUSED', Message: undefined },
        );
        return true;
      },
    );
    allowed.connector.close();
  });

  test('an endpoint neither reported by EKS nor allow-listed is EKS.EndpointNotTrusted', async () => {
    server.requests.reset();
    await assert.rejects(
      run({
        ...coordinates(),
        ClusterName: 'someone-elses-cluster',
        Method: 'GET',
        Path: '/api/v1/secrets',
      }),
      { errorName: 'EKS.EndpointNotTrusted' },
    );
    assert.equal(server.requests.total(), 0);
  });

  test('an invalid input is EKS.InvalidParameters and nothing is sent', async () => {
    server.requests.reset();
    await assert.rejects(
      run({ ...coordinates(), Method: 'FETCH', Path: 'pods' }),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.InvalidParameters');
        return true;
      },
    );
    assert.equal(server.requests.total(), 0);
  });
});
