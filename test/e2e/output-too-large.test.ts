/**
 * An output over Step Functions' limit, through the worker as a deployment composes it
 * (composeWorker -> makeIntegrations, every integration behind the policy guard): an `eks:call`
 * listing more than 262,144 bytes of ConfigMaps fails `EKS.OutputTooLarge`, and the cause still
 * says how to ask for less (the integration's advice, which the guard must carry through).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { builtinTypes } from '../../infra/local-stack/kube/resource-types.ts';
import {
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../infra/local-stack/worker-on-local-stack.ts';
import { kubeOutputTooLargeAdvice } from '../../lib/integrations/kube-output-advice.ts';
import { SfnLimits } from '../../lib/limits.ts';
import { parsePolicyDocument } from '../../lib/policy/document.ts';

/** Reading ConfigMaps in `default`, and nothing else: the guard decides every task. */
const policy = parsePolicyDocument(
  {
    rules: [
      {
        name: 'read-configmaps',
        activities: ['*-eks-call'],
        clusters: ['local-cluster'],
        namespaces: ['default'],
        calls: [{ methods: ['GET'], paths: ['/api/v1/namespaces/*/configmaps'] }],
      },
    ],
  },
  'e2e output-too-large policy',
);

const callState = (parameters: Record<string, unknown>) => ({
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: 'arn:aws:states:::eks:call',
      Parameters: parameters,
      HeartbeatSeconds: 60,
      End: true,
    },
  },
});

/** Four ConfigMaps of 100,000 bytes of data each: a list of them is well over the limit. */
const configMapCount = 4;
const configMapDataBytes = 100_000;

describe('output too large, through the composed worker and its policy guard', () => {
  let env: WorkerOnLocalStack;
  before(async () => {
    env = await startWorkerOnLocalStack({ config: { policy } });
    for (let i = 0; i < configMapCount; i++) {
      env.stack.cluster.store.create(builtinTypes.configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `big-${i}`, namespace: 'default' },
        data: { blob: 'x'.repeat(configMapDataBytes) },
      });
    }
  });
  after(async () => {
    await env.close();
  });

  const cluster = () => ({ ClusterName: env.stack.cluster.clusterName });

  test('the guard is in the path: a call outside the policy is denied', async () => {
    const execution = await env.runExecution(
      await env.createStateMachine(
        callState({ ...cluster(), Method: 'GET', Path: '/api/v1/namespaces/default/secrets' }),
      ),
    );
    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.PolicyDenied');
  });

  test('eks:call listing too much fails EKS.OutputTooLarge with the advice (limit, labelSelector)', async () => {
    assert.ok(configMapCount * configMapDataBytes > SfnLimits.maxOutputBytes);
    const execution = await env.runExecution(
      await env.createStateMachine(
        callState({ ...cluster(), Method: 'GET', Path: '/api/v1/namespaces/default/configmaps' }),
      ),
    );

    assert.equal(execution.status, 'FAILED');
    assert.equal(execution.error, 'EKS.OutputTooLarge', execution.cause);
    const cause = JSON.parse(execution.cause ?? '{}') as {
      message?: string;
      OutputBytes?: number;
      MaxOutputBytes?: number;
    };
    assert.equal(cause.MaxOutputBytes, SfnLimits.maxOutputBytes);
    assert.ok((cause.OutputBytes ?? 0) > SfnLimits.maxOutputBytes, `${cause.OutputBytes}`);
    assert.match(cause.message ?? '', /Step Functions accepts at most 262144\./);
    assert.match(cause.message ?? '', /'limit'/);
    assert.match(cause.message ?? '', /'labelSelector'/);
    assert.ok(cause.message?.endsWith(` ${kubeOutputTooLargeAdvice}`), cause.message);
  });

  test('the same list paged with limit fits and succeeds', async () => {
    const execution = await env.runExecution(
      await env.createStateMachine(
        callState({
          ...cluster(),
          Method: 'GET',
          Path: '/api/v1/namespaces/default/configmaps',
          QueryParameters: { limit: ['1'] },
        }),
      ),
    );
    assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    const output = JSON.parse(execution.output ?? '{}') as {
      StatusCode?: number;
      ResponseBody?: { items?: unknown[]; metadata?: { continue?: string } };
    };
    assert.equal(output.StatusCode, 200);
    assert.equal(output.ResponseBody?.items?.length, 1);
    assert.ok(output.ResponseBody?.metadata?.continue, 'a continue token for the next page');
  });
});
