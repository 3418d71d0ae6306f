import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type InputProblem, InvalidParametersError } from '../../../../lib/errors.ts';
import { parseKubeCallInput } from '../../../../lib/integrations/kube-call/parse-input.ts';

const problemsOf = (input: unknown): InputProblem[] => {
  try {
    parseKubeCallInput(input);
  } catch (error) {
    assert.ok(error instanceof InvalidParametersError);
    assert.equal(error.errorName, 'EKS.InvalidParameters');
    return [...error.problems];
  }
  assert.fail('expected InvalidParametersError');
};

const pathsOf = (input: unknown): string[] => problemsOf(input).map((p) => p.path);

describe('parseKubeCallInput', () => {
  test('accepts the seed example input and keeps every field', () => {
    const parsed = parseKubeCallInput({
      ClusterName: 'MyCluster',
      Endpoint: 'https://444455556666.yl4.us-east-1.eks.amazonaws.com',
      Method: 'GET',
      Path: '/api/v1/namespaces/default/pods',
      QueryParameters: { labelSelector: ['job-name=example-job'] },
    });
    assert.deepEqual(parsed, {
      cluster: {
        clusterName: 'MyCluster',
        endpoint: 'https://444455556666.yl4.us-east-1.eks.amazonaws.com',
      },
      method: 'GET',
      path: '/api/v1/namespaces/default/pods',
      queryParameters: { labelSelector: ['job-name=example-job'] },
    });
  });

  test('keeps a RequestBody of any JSON type, null included', () => {
    assert.equal(
      parseKubeCallInput({ ClusterName: 'c', Method: 'POST', Path: '/x', RequestBody: null })
        .requestBody,
      null,
    );
    assert.equal(
      'requestBody' in parseKubeCallInput({ ClusterName: 'c', Method: 'POST', Path: '/x' }),
      false,
    );
  });

  test('an input that is not an object is one problem at $', () => {
    assert.deepEqual(problemsOf('{"ClusterName":"c"}'), [
      { path: '$', message: 'must be a JSON object, got a string' },
    ]);
    assert.deepEqual(pathsOf(null), ['$']);
    assert.deepEqual(pathsOf([]), ['$']);
  });

  test('lists every missing required field', () => {
    assert.deepEqual(problemsOf({}), [
      { path: '$.ClusterName', message: 'is required' },
      { path: '$.Method', message: 'is required' },
      { path: '$.Path', message: 'is required' },
    ]);
  });

  test('lists every wrong field at once, with its path', () => {
    assert.deepEqual(
      pathsOf({
        ClusterName: 7,
        Endpoint: 'http://insecure.example.com',
        CertificateAuthority: 'ANPAJ2UCCR6DPCEXAMPLE',
        Method: 'get',
        Path: 'api/v1/pods',
        QueryParameters: { labelSelector: 'a=b', limit: [5], 'weird key': ['ok', null] },
      }),
      [
        '$.ClusterName',
        '$.Endpoint',
        '$.CertificateAuthority',
        '$.Method',
        '$.Path',
        '$.QueryParameters.labelSelector',
        '$.QueryParameters.limit[0]',
        '$.QueryParameters["weird key"][1]',
      ],
    );
  });

  test('a Method outside GET|POST|PUT|DELETE|HEAD|PATCH is refused', () => {
    assert.deepEqual(problemsOf({ ClusterName: 'c', Method: 'OPTIONS', Path: '/' }), [
      { path: '$.Method', message: 'must be one of GET, POST, PUT, DELETE, HEAD, PATCH' },
    ]);
  });

  test('a Path with a query string or a space is refused', () => {
    assert.deepEqual(pathsOf({ ClusterName: 'c', Method: 'GET', Path: '/api?x=1' }), ['$.Path']);
    assert.deepEqual(pathsOf({ ClusterName: 'c', Method: 'GET', Path: '/api/a b' }), ['$.Path']);
  });

  test('QueryParameters must be an object, not a list', () => {
    assert.deepEqual(pathsOf({ ClusterName: 'c', Method: 'GET', Path: '/', QueryParameters: [] }), [
      '$.QueryParameters',
    ]);
  });

  test('an Endpoint with a path is refused', () => {
    assert.deepEqual(
      pathsOf({ ClusterName: 'c', Method: 'GET', Path: '/', Endpoint: 'https://h.example/k8s' }),
      ['$.Endpoint'],
    );
  });

  test('a RequestBody on GET or HEAD is refused', () => {
    assert.deepEqual(
      pathsOf({ ClusterName: 'c', Method: 'HEAD', Path: '/', RequestBody: { a: 1 } }),
      ['$.RequestBody'],
    );
  });
});
