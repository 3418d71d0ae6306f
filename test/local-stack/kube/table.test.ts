import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatHumanDuration, negotiateTable } from '../../../infra/local-stack/kube/table.ts';

describe('server-side printing', () => {
  test('the Table version is taken from the first acceptable Accept entry', () => {
    const kubectlGet =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    assert.equal(negotiateTable(kubectlGet), 'v1');
    assert.equal(negotiateTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io'), 'v1beta1');
    assert.equal(
      negotiateTable('application/json, application/json;as=Table;v=v1;g=meta.k8s.io'),
      undefined,
    );
    assert.equal(negotiateTable(undefined), undefined);
    assert.equal(negotiateTable('application/vnd.kubernetes.protobuf,application/json'), undefined);
  });

  test('ages read as kubectl prints them (Go duration.HumanDuration)', () => {
    const s = 1000;
    assert.equal(formatHumanDuration(5 * s), '5s');
    assert.equal(formatHumanDuration(119 * s), '119s');
    assert.equal(formatHumanDuration(150 * s), '2m30s');
    assert.equal(formatHumanDuration(600 * s), '10m');
    assert.equal(formatHumanDuration(4 * 3600 * s + 60 * s), '4h1m');
    assert.equal(formatHumanDuration(30 * 3600 * s), '30h');
    assert.equal(formatHumanDuration(3 * 86400 * s + 3600 * s), '3d1h');
    assert.equal(formatHumanDuration(400 * 86400 * s), '400d');
    assert.equal(formatHumanDuration(-5 * s), '<invalid>');
  });
});
