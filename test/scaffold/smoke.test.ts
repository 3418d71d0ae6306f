import assert from 'node:assert/strict';
import { test } from 'node:test';

test('the runtime libraries import on this Node version', async () => {
  const k8s = await import('@kubernetes/client-node');
  const middy = await import('@middy/core');
  assert.equal(typeof k8s.KubeConfig, 'function');
  assert.equal(typeof middy.default, 'function');
});
