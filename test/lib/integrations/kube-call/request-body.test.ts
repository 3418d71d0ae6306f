import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeRequestBody } from '../../../../lib/integrations/kube-call/request-body.ts';

describe('encodeRequestBody', () => {
  test('no RequestBody sends no body', () => {
    assert.equal(encodeRequestBody('POST', undefined), undefined);
  });

  test('an object is sent as JSON', () => {
    assert.deepEqual(encodeRequestBody('POST', { kind: 'ConfigMap' }), {
      body: '{"kind":"ConfigMap"}',
      contentType: 'application/json',
    });
  });

  test('an array is sent as JSON', () => {
    assert.deepEqual(encodeRequestBody('PUT', [1]), {
      body: '[1]',
      contentType: 'application/json',
    });
  });

  test('PATCH with an array is a JSON Patch', () => {
    const ops = [{ op: 'replace', path: '/spec/suspend', value: true }];
    assert.deepEqual(encodeRequestBody('PATCH', ops), {
      body: JSON.stringify(ops),
      contentType: 'application/json-patch+json',
    });
  });

  test('PATCH with an object is a JSON Merge Patch', () => {
    assert.deepEqual(encodeRequestBody('PATCH', { spec: { suspend: true } }), {
      body: '{"spec":{"suspend":true}}',
      contentType: 'application/merge-patch+json',
    });
  });

  test('a string that parses as JSON is sent as-is as JSON', () => {
    assert.deepEqual(encodeRequestBody('POST', ' {"kind": "Pod"} '), {
      body: ' {"kind": "Pod"} ',
      contentType: 'application/json',
    });
  });

  test('any other string is sent as-is as YAML', () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';
    assert.deepEqual(encodeRequestBody('POST', yaml), {
      body: yaml,
      contentType: 'application/yaml',
    });
  });

  test('a number, boolean or null is sent as JSON', () => {
    assert.deepEqual(encodeRequestBody('DELETE', null), {
      body: 'null',
      contentType: 'application/json',
    });
    assert.deepEqual(encodeRequestBody('POST', 3), { body: '3', contentType: 'application/json' });
  });
});
