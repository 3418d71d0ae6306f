import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findPathProblem } from '../../../../lib/integrations/kube-call/path-grammar.ts';

describe('the eks:call Path grammar', () => {
  test('accepts the API paths state machines use', () => {
    for (const path of [
      '/',
      '/api/v1/namespaces/default/pods',
      '/apis/batch/v1/namespaces/default/jobs/example-job',
      '/api/v1/namespaces/kube-system/configmaps/aws-auth',
      '/api/v1/namespaces/default/pods/web-0:8080/proxy/healthz',
      '/apis/example.com/v1alpha1/widgets/a.b.c',
      '/api/v1/namespaces/default/pods/name%3Awith-colon',
    ]) {
      assert.equal(findPathProblem(path), undefined, path);
    }
  });

  test('refuses every ambiguous form', () => {
    for (const path of [
      '//evil.example/api/v1/pods',
      '/api//v1/pods',
      '/api/v1/',
      '/api/v1/./pods',
      '/api/v1/../v1/pods',
      '/api/v1/..',
      '/api/v1/%2e%2e/pods',
      '/api/v1/%2E/pods',
      '/api/v1/namespaces%2Fdefault/pods',
      '/api/v1/namespaces%2fdefault',
      '/api/v1/%5c..%5cpods',
      '/api/v1/%252e%252e/pods',
      '/api/v1/%00',
      '/api/v1/%7F',
      '/api/v1/%zz',
      '/api/v1/100%',
      '/api\\v1\\pods',
      '/api/v1/pods\n',
      '/api/v1/po\tds',
      '/api/v1/pods\u0000',
      '/api/v1/pöds',
      '/api/v1/pods?watch=1',
      '/api/v1/pods#x',
      '/api/v1/{name}',
      'api/v1/pods',
      `/${'a'.repeat(5000)}`,
    ]) {
      assert.notEqual(findPathProblem(path), undefined, JSON.stringify(path));
    }
  });
});
