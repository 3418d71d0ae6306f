import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeClusterCertificates } from '../../../../infra/local-stack/kube/tls.ts';
import { InvalidParametersError } from '../../../../lib/errors.ts';
import { parseRunJobInput } from '../../../../lib/integrations/kube-job/parse-input.ts';

const job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'example-job' },
  spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
};

const problemsOf = (input: unknown, sync = true) => {
  try {
    parseRunJobInput(input, sync);
  } catch (error) {
    assert.ok(error instanceof InvalidParametersError);
    assert.equal(error.errorName, 'EKS.InvalidParameters');
    return error.problems.map((problem) => problem.path);
  }
  assert.fail('expected InvalidParametersError');
};

describe('runJob input validation', () => {
  test('a minimal input defaults the namespace and turns logs off', () => {
    const parsed = parseRunJobInput({ ClusterName: 'c1', Job: job }, true);
    assert.equal(parsed.namespace, 'default');
    assert.deepEqual(parsed.cluster, { clusterName: 'c1' });
    assert.deepEqual(parsed.logOptions, { retrieveLogs: false, rawLogs: false, logParameters: {} });
    assert.deepEqual(parsed.job, job);
  });

  test('cluster coordinates and log options are carried through', async () => {
    const { caPem } = await makeClusterCertificates();
    const parsed = parseRunJobInput(
      {
        ClusterName: 'c1',
        Endpoint: 'https://Example.eks.amazonaws.com:443',
        CertificateAuthority: Buffer.from(caPem).toString('base64'),
        Namespace: 'team-a',
        Job: job,
        LogOptions: { RetrieveLogs: true, RawLogs: true, LogParameters: { tailLines: ['6'] } },
      },
      true,
    );
    assert.equal(parsed.namespace, 'team-a');
    // Parsed once here; the connection trusts and uses it as it is.
    assert.deepEqual(parsed.cluster, {
      clusterName: 'c1',
      endpoint: 'https://example.eks.amazonaws.com',
      caPem: `${caPem.trim()}\n`,
    });
    assert.deepEqual(parsed.logOptions, {
      retrieveLogs: true,
      rawLogs: true,
      logParameters: { tailLines: ['6'] },
    });
  });

  test('a Job given as a YAML string is parsed', () => {
    const yaml = [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  generateName: pi-',
      'spec:',
      '  template:',
      '    spec:',
      '      containers: [{name: pi, image: perl}]',
      '      restartPolicy: Never',
    ].join('\n');
    const parsed = parseRunJobInput({ ClusterName: 'c1', Job: yaml }, false);
    assert.equal(parsed.job.metadata?.generateName, 'pi-');
  });

  test('a Job given as a JSON string is parsed', () => {
    const parsed = parseRunJobInput({ ClusterName: 'c1', Job: JSON.stringify(job) }, false);
    assert.deepEqual(parsed.job, job);
  });

  test('every problem is reported at once with its field path', () => {
    assert.deepEqual(
      problemsOf({
        Namespace: 'Not_A_Namespace',
        Job: { apiVersion: 'v1', kind: 'Pod', metadata: {} },
        LogOptions: { RetrieveLogs: 'yes', LogParameters: { tailLines: 6 } },
      }),
      [
        '$.ClusterName',
        '$.Namespace',
        '$.Job.apiVersion',
        '$.Job.kind',
        '$.Job.metadata',
        '$.LogOptions.RetrieveLogs',
        '$.LogOptions.LogParameters.tailLines',
      ],
    );
  });

  test('a missing Job is reported', () => {
    assert.deepEqual(problemsOf({ ClusterName: 'c1' }), ['$.Job']);
  });

  test('a Job string that is neither JSON nor YAML is reported', () => {
    assert.deepEqual(problemsOf({ ClusterName: 'c1', Job: 'kind: [unclosed' }), ['$.Job']);
  });

  test('a Job string with two YAML documents is reported', () => {
    const two = 'apiVersion: batch/v1\nkind: Job\n---\napiVersion: batch/v1\nkind: Job\n';
    assert.deepEqual(problemsOf({ ClusterName: 'c1', Job: two }), ['$.Job']);
  });

  test('LogOptions are refused by eks:runJob, which does not wait', () => {
    assert.deepEqual(
      problemsOf({ ClusterName: 'c1', Job: job, LogOptions: { RetrieveLogs: true } }, false),
      ['$.LogOptions'],
    );
  });

  test('the container and follow log parameters are refused', () => {
    assert.deepEqual(
      problemsOf({
        ClusterName: 'c1',
        Job: job,
        LogOptions: { LogParameters: { container: ['a'], follow: ['true'] } },
      }),
      ['$.LogOptions.LogParameters.container', '$.LogOptions.LogParameters.follow'],
    );
  });

  test('a Job namespace that disagrees with Namespace is reported', () => {
    const inOther = { ...job, metadata: { name: 'x', namespace: 'other' } };
    assert.deepEqual(problemsOf({ ClusterName: 'c1', Namespace: 'team-a', Job: inOther }), [
      '$.Job.metadata.namespace',
    ]);
  });

  test('the Job namespace is used when Namespace is absent', () => {
    const inOther = { ...job, metadata: { name: 'x', namespace: 'other' } };
    assert.equal(parseRunJobInput({ ClusterName: 'c1', Job: inOther }, true).namespace, 'other');
  });

  test('an Endpoint that is not https is reported', () => {
    assert.deepEqual(
      problemsOf({ ClusterName: 'c1', Endpoint: 'http://plain.example', Job: job }),
      ['$.Endpoint'],
    );
  });

  test('an input that is not an object is reported', () => {
    assert.deepEqual(problemsOf('just a string'), ['$']);
  });
});
