import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeClusterCertificates } from '../../../../infra/local-stack/kube/tls.ts';
import { type InputProblem, InvalidParametersError } from '../../../../lib/errors.ts';
import { parseKubeCallInput } from '../../../../lib/integrations/kube-call/parse-input.ts';
import { parseRunJobInput } from '../../../../lib/integrations/kube-job/parse-input.ts';
import { readClusterTarget } from '../../../../lib/integrations/validation/cluster-target.ts';
import { decodeCertificateAuthority } from '../../../../lib/kube/cluster-target.ts';

const read = (input: Record<string, unknown>) => {
  const problems: InputProblem[] = [];
  return { target: readClusterTarget(input, problems), problems };
};

const problemsThrownBy = (parse: () => unknown): InputProblem[] => {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof InvalidParametersError);
    return [...error.problems];
  }
  assert.fail('expected InvalidParametersError');
};

describe('readClusterTarget', () => {
  let caData = '';
  let caPem = '';
  before(async () => {
    caPem = (await makeClusterCertificates()).caPem;
    caData = Buffer.from(caPem).toString('base64');
  });

  test('a valid target comes out as an origin and a PEM', () => {
    const { target, problems } = read({
      ClusterName: 'c',
      Endpoint: 'https://ABC.gr7.us-east-1.EKS.amazonaws.com:443/',
      CertificateAuthority: caData,
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(target, {
      clusterName: 'c',
      endpoint: 'https://abc.gr7.us-east-1.eks.amazonaws.com',
      caPem: decodeCertificateAuthority(caData),
    });
    assert.match(target?.caPem ?? '', /^-----BEGIN CERTIFICATE-----\n/);
  });

  test('a malformed endpoint and CA are both reported, with their paths', () => {
    const { target, problems } = read({
      ClusterName: 'x',
      Endpoint: 'http://x',
      CertificateAuthority: '@@',
    });
    assert.equal(target, undefined);
    assert.deepEqual(
      problems.map((problem) => problem.path),
      ['$.Endpoint', '$.CertificateAuthority'],
    );
  });

  test('eks:call and eks:runJob apply the same rules to the same fields', () => {
    const cluster = {
      ClusterName: 'bad name!',
      Endpoint: 'https://h.example/k8s',
      CertificateAuthority: 'ANPAJ2UCCR6DPCEXAMPLE',
    };
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' } };
    const fromCall = problemsThrownBy(() =>
      parseKubeCallInput({ ...cluster, Method: 'GET', Path: '/' }),
    );
    const fromRunJob = problemsThrownBy(() => parseRunJobInput({ ...cluster, Job: job }, true));
    assert.deepEqual(fromRunJob, fromCall);
    assert.deepEqual(
      fromCall.map((problem) => problem.path),
      ['$.ClusterName', '$.Endpoint', '$.CertificateAuthority'],
    );
  });
});
