/**
 * The policy on the local stack: a task outside it fails with EKS.PolicyDenied and sends nothing
 * anywhere (the Kubernetes API server's and the EKS stand-in's request logs do not move: not even
 * the DescribeCluster look-up of an endpoint), a task inside it runs, and every decision is logged
 * with activity, cluster, namespace and verb but never a token or a body.
 */
// Powertools writes to the global console in dev mode, which this test can listen to.
process.env.POWERTOOLS_DEV = 'true';

import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  startWorkerOnLocalStack,
  type WorkerOnLocalStack,
} from '../../infra/local-stack/worker-on-local-stack.ts';
import { parsePolicyDocument } from '../../lib/policy/document.ts';

const policy = parsePolicyDocument(
  {
    rules: [
      {
        name: 'jobs',
        activities: ['*-eks-runJob', '*-eks-runJob-sync'],
        clusters: ['local-cluster'],
        namespaces: ['default'],
      },
      {
        name: 'calls',
        activities: ['*-eks-call'],
        clusters: ['local-cluster'],
        namespaces: ['default'],
        calls: [{ methods: ['GET'], paths: ['/api/v1/namespaces/*/pods'] }],
      },
      {
        name: 'nodegroups',
        activities: ['*-eks-createNodegroup*', '*-eks-deleteNodegroup*'],
        clusters: ['local-cluster'],
        operations: ['createNodegroup'],
        passRoles: ['arn:aws:iam::123456789012:role/eks-node-*'],
      },
    ],
  },
  'e2e policy',
);

/** A marker in every task body: it must never reach a log line. */
const bodyMarker = 'body-marker-7f3a';

const job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { generateName: 'policy-' },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: {
        annotations: { 'local.eks-activity-worker/script': '{"durationMs": 50}' },
      },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'busybox', env: [{ name: 'M', value: bodyMarker }] }],
      },
    },
  },
};

const oneState = (resource: string, parameters: Record<string, unknown>) => ({
  StartAt: 'Task',
  States: {
    Task: {
      Type: 'Task',
      Resource: `arn:aws:states:::eks:${resource}`,
      Parameters: parameters,
      HeartbeatSeconds: 60,
      End: true,
    },
  },
});

describe('policy on the local stack', () => {
  let env: WorkerOnLocalStack;
  const lines: Record<string, unknown>[] = [];
  const capture = (...args: unknown[]) => {
    for (const arg of args) {
      try {
        lines.push(JSON.parse(String(arg)) as Record<string, unknown>);
      } catch {
        // Not a log line of ours.
      }
    }
  };
  before(async () => {
    mock.method(console, 'info', capture);
    mock.method(console, 'warn', capture);
    mock.method(console, 'error', capture);
    env = await startWorkerOnLocalStack({
      config: { policy },
      logger: new Logger({ serviceName: 'eks-activity-worker', logLevel: 'INFO' }),
    });
  });
  after(async () => {
    await env.close();
    mock.restoreAll();
  });

  const cluster = () => ({ ClusterName: env.stack.cluster.clusterName });
  const decisions = () => lines.filter((line) => line.message === 'Policy decision');

  const denied: {
    what: string;
    resource: string;
    parameters: () => Record<string, unknown>;
    rule: string | null;
    field: string;
    value: string;
    audit: Record<string, unknown>;
  }[] = [
    {
      what: 'runJob.sync in a namespace the rule does not list',
      resource: 'runJob.sync',
      parameters: () => ({ ...cluster(), Namespace: 'kube-system', Job: job }),
      rule: 'jobs',
      field: 'namespaces',
      value: 'kube-system',
      audit: { cluster: 'local-cluster', namespace: 'kube-system', verb: 'createJob' },
    },
    {
      what: 'runJob on a cluster the rule does not list (no DescribeCluster either)',
      resource: 'runJob',
      parameters: () => ({ ClusterName: 'payments', Namespace: 'default', Job: job }),
      rule: 'jobs',
      field: 'clusters',
      value: 'payments',
      audit: { cluster: 'payments', namespace: 'default', verb: 'createJob' },
    },
    {
      what: 'eks:call with a method no call entry allows',
      resource: 'call',
      parameters: () => ({
        ...cluster(),
        Method: 'POST',
        Path: '/api/v1/namespaces/default/pods',
        RequestBody: { marker: bodyMarker },
      }),
      rule: 'calls',
      field: 'calls',
      value: 'POST /api/v1/namespaces/default/pods',
      audit: { cluster: 'local-cluster', namespace: 'default', verb: 'POST' },
    },
    {
      what: 'eks:call into another namespace',
      resource: 'call',
      parameters: () => ({
        ...cluster(),
        Method: 'GET',
        Path: '/api/v1/namespaces/kube-system/pods',
      }),
      rule: 'calls',
      field: 'namespaces',
      value: 'kube-system',
      audit: { cluster: 'local-cluster', namespace: 'kube-system', verb: 'GET' },
    },
    {
      what: 'eks:call on a cluster-scoped path',
      resource: 'call',
      parameters: () => ({ ...cluster(), Method: 'GET', Path: '/api/v1/nodes' }),
      rule: 'calls',
      field: 'clusterScoped',
      value: '/api/v1/nodes',
      audit: { cluster: 'local-cluster', namespace: undefined, verb: 'GET' },
    },
    {
      what: 'createNodegroup passing a role the rule does not list',
      resource: 'createNodegroup.sync',
      parameters: () => ({
        ...cluster(),
        NodegroupName: 'ng-denied',
        NodeRole: 'arn:aws:iam::123456789012:role/Admin',
        Subnets: ['subnet-1'],
      }),
      rule: 'nodegroups',
      field: 'passRoles',
      value: 'arn:aws:iam::123456789012:role/Admin',
      audit: { cluster: 'local-cluster', verb: 'createNodegroup' },
    },
    {
      what: 'deleteNodegroup, an operation the rule does not list',
      resource: 'deleteNodegroup',
      parameters: () => ({ ...cluster(), NodegroupName: 'ng' }),
      rule: 'nodegroups',
      field: 'operations',
      value: 'deleteNodegroup',
      audit: { cluster: 'local-cluster', verb: 'deleteNodegroup' },
    },
    {
      what: 'deleteCluster.sync, an activity no rule names',
      resource: 'deleteCluster.sync',
      parameters: () => ({ Name: 'local-cluster' }),
      rule: null,
      field: 'activities',
      value: '',
      audit: { cluster: 'local-cluster', verb: 'deleteCluster' },
    },
  ];

  // The denials run first, while nothing else talks to the stack, so any request would show.
  for (const testCase of denied) {
    test(`denied, nothing sent: ${testCase.what}`, async () => {
      const arn = await env.createStateMachine(oneState(testCase.resource, testCase.parameters()));
      const kubeBefore = env.stack.cluster.requests.total();
      const eksBefore = env.stack.eks.counters.total();
      const execution = await env.runExecution(arn);

      assert.equal(execution.status, 'FAILED');
      assert.equal(execution.error, 'EKS.PolicyDenied');
      const cause = JSON.parse(execution.cause ?? '{}');
      assert.equal(cause.Rule, testCase.rule);
      assert.equal(cause.Field, testCase.field);
      if (testCase.value !== '') assert.equal(cause.Value, testCase.value);
      assert.equal(cause.Policy, 'e2e policy');
      assert.equal(env.stack.cluster.requests.total(), kubeBefore, 'Kubernetes API requests');
      assert.equal(env.stack.eks.counters.total(), eksBefore, 'EKS requests');

      const decision = decisions().at(-1);
      assert.ok(decision, 'a decision line');
      assert.equal(decision.level, 'WARN');
      assert.equal(decision.decision, 'deny');
      assert.equal(decision.deniedBy, testCase.field);
      assert.equal(decision.rule, testCase.rule ?? undefined);
      assert.match(String(decision.activity), /-eks-/);
      for (const [key, value] of Object.entries(testCase.audit)) {
        assert.deepEqual(decision[key], value, key);
      }
    });
  }

  test('allowed: runJob.sync, eks:call and createNodegroup run, each decision logged', async () => {
    const runs = [
      oneState('runJob.sync', { ...cluster(), Namespace: 'default', Job: job }),
      oneState('call', { ...cluster(), Method: 'GET', Path: '/api/v1/namespaces/default/pods' }),
      oneState('createNodegroup.sync', {
        ...cluster(),
        NodegroupName: 'ng-allowed',
        NodeRole: 'arn:aws:iam::123456789012:role/eks-node-a',
        Subnets: ['subnet-1'],
      }),
    ];
    const allowedBefore = decisions().filter((line) => line.decision === 'allow').length;
    for (const definition of runs) {
      const execution = await env.runExecution(await env.createStateMachine(definition));
      assert.equal(execution.status, 'SUCCEEDED', `${execution.error}: ${execution.cause}`);
    }
    const allowed = decisions()
      .filter((line) => line.decision === 'allow')
      .slice(allowedBefore);
    assert.deepEqual(
      allowed.map((line) => [line.rule, line.verb, line.namespace]),
      [
        ['jobs', 'createJob', 'default'],
        ['calls', 'GET', 'default'],
        ['nodegroups', 'createNodegroup', undefined],
      ],
    );
    assert.deepEqual(allowed[2]?.passRoles, ['arn:aws:iam::123456789012:role/eks-node-a']);
  });

  test('no log line carries a bearer token or a task body', () => {
    assert.ok(lines.length > 10, 'the worker logged');
    const text = JSON.stringify(lines);
    assert.doesNotMatch(text, /k8s-aws-v1\./);
    assert.equal(text.includes(bodyMarker), false);
  });
});
