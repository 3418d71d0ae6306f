/**
 * The policy's decisions, one rule type at a time, each allowing and denying: the task input is
 * read by the integrations' own parsers (describeTaskAccess), then decided.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidParametersError } from '../../../lib/errors.ts';
import { describeTaskAccess } from '../../../lib/policy/access.ts';
import { type Decision, decide } from '../../../lib/policy/decide.ts';
import { defaultPolicy, parsePolicyDocument } from '../../../lib/policy/document.ts';
import { readKubePath } from '../../../lib/policy/kube-path.ts';

const policy = parsePolicyDocument(
  {
    rules: [
      {
        name: 'jobs',
        activities: ['prod-eks-runJob', 'prod-eks-runJob-sync'],
        clusters: ['analytics-*'],
        namespaces: ['batch', 'team-?'],
      },
      {
        name: 'calls',
        activities: ['prod-eks-call'],
        clusters: ['analytics-1'],
        namespaces: ['batch'],
        calls: [
          {
            methods: ['GET'],
            paths: ['/api/v1/namespaces/*/pods', '/api/v1/namespaces/*/pods/*/log'],
          },
          { methods: ['DELETE', 'GET'], paths: ['/apis/batch/v1/namespaces/batch/jobs/**'] },
        ],
      },
      {
        name: 'cluster-reads',
        activities: ['admin-eks-call'],
        clusters: ['*'],
        clusterScoped: true,
        calls: [{ methods: ['*'], paths: ['/api/v1/nodes', '/version'] }],
      },
      {
        name: 'nodegroups',
        activities: ['prod-eks-*Nodegroup*', 'prod-eks-createCluster*'],
        clusters: ['analytics-*'],
        operations: ['createNodegroup', 'deleteNodegroup'],
        passRoles: ['arn:aws:iam::111122223333:role/eks-node-*'],
      },
    ],
  },
  'test',
);

const suffixOf = (activity: string) => activity.slice(activity.indexOf('eks-'));
const decideTask = (activity: string, input: unknown, against = policy): Decision => {
  const access = describeTaskAccess(suffixOf(activity), input);
  assert.ok(access, `no access for ${activity}`);
  return decide(against, activity, access);
};
const denial = (decision: Decision) => {
  assert.equal(decision.allowed, false, 'expected a denial');
  return decision as Extract<Decision, { allowed: false }>;
};

const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: {} };
const runJob = (cluster: string, namespace?: string) => ({
  ClusterName: cluster,
  ...(namespace === undefined ? {} : { Namespace: namespace }),
  Job: job,
});
const call = (method: string, path: string, cluster = 'analytics-1') => ({
  ClusterName: cluster,
  Method: method,
  Path: path,
});
const nodegroup = (cluster: string, role: string) => ({
  ClusterName: cluster,
  NodegroupName: 'ng',
  NodeRole: role,
  Subnets: ['subnet-1'],
});

describe('activities: the first rule naming the activity decides', () => {
  test('allows an activity a rule names', () => {
    assert.deepEqual(decideTask('prod-eks-runJob-sync', runJob('analytics-7', 'batch')), {
      allowed: true,
      rule: 'jobs',
    });
  });

  test('denies an activity no rule names, whatever its task', () => {
    const denied = denial(decideTask('dev-eks-runJob-sync', runJob('analytics-7', 'batch')));
    assert.equal(denied.rule, undefined);
    assert.equal(denied.field, 'activities');
    assert.match(denied.message, /No policy rule names activity 'dev-eks-runJob-sync'/);
  });
});

describe('clusters', () => {
  test('allows a cluster matching a pattern', () => {
    assert.equal(decideTask('prod-eks-runJob', runJob('analytics-eu', 'batch')).allowed, true);
  });

  test('denies another cluster, naming the rule, its field and the task field', () => {
    const denied = denial(decideTask('prod-eks-runJob', runJob('payments', 'batch')));
    assert.equal(denied.rule, 'jobs');
    assert.equal(denied.field, 'clusters');
    assert.equal(denied.taskField, '$.ClusterName');
    assert.equal(denied.value, 'payments');
    assert.deepEqual(denied.allowedValues, ['analytics-*']);
  });

  test('control-plane cluster operations are judged on $.Name', () => {
    const denied = denial(
      decideTask('prod-eks-createCluster', {
        Name: 'payments',
        RoleArn: 'arn:aws:iam::111122223333:role/eks-node-x',
        ResourcesVpcConfig: {},
      }),
    );
    assert.equal(denied.field, 'clusters');
    assert.equal(denied.taskField, '$.Name');
  });
});

describe('namespaces (runJob)', () => {
  test('allows a listed namespace, and a ? pattern matches one character', () => {
    assert.equal(decideTask('prod-eks-runJob', runJob('analytics-1', 'batch')).allowed, true);
    assert.equal(decideTask('prod-eks-runJob', runJob('analytics-1', 'team-a')).allowed, true);
  });

  test('denies another namespace; an absent Namespace is `default`, also denied here', () => {
    const denied = denial(decideTask('prod-eks-runJob', runJob('analytics-1', 'kube-system')));
    assert.equal(denied.field, 'namespaces');
    assert.equal(denied.value, 'kube-system');
    assert.equal(denial(decideTask('prod-eks-runJob', runJob('analytics-1'))).value, 'default');
  });

  test("the Job's own metadata.namespace is judged when Namespace is absent", () => {
    const input = {
      ClusterName: 'analytics-1',
      Job: { ...job, metadata: { name: 'j', namespace: 'kube-system' } },
    };
    assert.equal(denial(decideTask('prod-eks-runJob', input)).value, 'kube-system');
  });
});

describe('namespaces (eks:call, read from the path as the API server reads it)', () => {
  test('allows a path in an allowed namespace', () => {
    assert.equal(
      decideTask('prod-eks-call', call('GET', '/api/v1/namespaces/batch/pods')).allowed,
      true,
    );
  });

  test('denies a path in another namespace, core and named groups alike', () => {
    for (const path of [
      '/api/v1/namespaces/kube-system/pods',
      '/apis/batch/v1/namespaces/kube-system/jobs/x',
      '/api/v1/watch/namespaces/kube-system/pods',
    ]) {
      const denied = denial(decideTask('prod-eks-call', call('GET', path)));
      assert.equal(denied.field, 'namespaces', path);
      assert.equal(denied.value, 'kube-system', path);
    }
  });

  test('a percent-encoded namespace is decoded before it is judged', () => {
    const denied = denial(
      decideTask('prod-eks-call', call('GET', '/api/v1/namespaces/kube%2Dsystem/pods')),
    );
    assert.equal(denied.value, 'kube-system');
  });

  test('paths the API server could read differently never reach the policy: the input is refused first', () => {
    for (const path of [
      '/api/v1/namespaces/batch%2Fpods/x',
      '/api/v1/namespaces/batch/../kube-system/pods',
      '/api/v1/namespaces/batch/./pods',
      '/api/v1//namespaces/batch/pods',
    ]) {
      assert.throws(
        () => decideTask('prod-eks-call', call('GET', path)),
        (error: unknown) =>
          error instanceof InvalidParametersError && error.errorName === 'EKS.InvalidParameters',
        path,
      );
      // The policy's own reading refuses them too, should the input grammar ever loosen.
      assert.equal(readKubePath(path).ok, false, path);
    }
  });
});

describe('clusterScoped (eks:call paths outside any namespace)', () => {
  test('denied unless the rule sets clusterScoped: true', () => {
    const denied = denial(decideTask('prod-eks-call', call('GET', '/api/v1/nodes')));
    assert.equal(denied.field, 'clusterScoped');
    // Listing all namespaces is cluster-scoped too.
    assert.equal(
      denial(decideTask('prod-eks-call', call('GET', '/api/v1/namespaces'))).field,
      'clusterScoped',
    );
  });

  test('allowed where the rule sets it and a call pattern matches', () => {
    assert.equal(decideTask('admin-eks-call', call('GET', '/api/v1/nodes')).allowed, true);
    assert.equal(decideTask('admin-eks-call', call('GET', '/version', 'any')).allowed, true);
  });
});

describe('calls: methods and path patterns', () => {
  test('allows a method and path a call entry names; * is one segment, ** any', () => {
    assert.equal(
      decideTask('prod-eks-call', call('GET', '/api/v1/namespaces/batch/pods/p-1/log')).allowed,
      true,
    );
    assert.equal(
      decideTask('prod-eks-call', call('DELETE', '/apis/batch/v1/namespaces/batch/jobs/j')).allowed,
      true,
    );
  });

  test('denies a method the matching path does not allow', () => {
    const denied = denial(
      decideTask('prod-eks-call', call('DELETE', '/api/v1/namespaces/batch/pods')),
    );
    assert.equal(denied.field, 'calls');
    assert.equal(denied.value, 'DELETE /api/v1/namespaces/batch/pods');
    assert.deepEqual(denied.allowedValues, [
      'GET /api/v1/namespaces/*/pods, /api/v1/namespaces/*/pods/*/log',
      'DELETE|GET /apis/batch/v1/namespaces/batch/jobs/**',
    ]);
  });

  test('denies a path no pattern matches (* does not cross a /)', () => {
    assert.equal(
      denial(decideTask('prod-eks-call', call('GET', '/api/v1/namespaces/batch/secrets'))).field,
      'calls',
    );
    assert.equal(
      denial(decideTask('prod-eks-call', call('GET', '/api/v1/namespaces/batch/pods/p/exec')))
        .field,
      'calls',
    );
  });
});

describe('operations (control plane)', () => {
  const role = 'arn:aws:iam::111122223333:role/eks-node-a';
  test('allows a listed operation', () => {
    assert.equal(
      decideTask('prod-eks-createNodegroup-sync', nodegroup('analytics-1', role)).allowed,
      true,
    );
  });

  test('denies an operation the rule does not list, even for an activity it names', () => {
    const denied = denial(
      decideTask('prod-eks-createCluster', {
        Name: 'analytics-2',
        RoleArn: role,
        ResourcesVpcConfig: {},
      }),
    );
    assert.equal(denied.rule, 'nodegroups');
    assert.equal(denied.field, 'operations');
    assert.equal(denied.value, 'createCluster');
  });
});

describe('passRoles (control plane)', () => {
  test('allows a role matching a pattern', () => {
    const decision = decideTask(
      'prod-eks-createNodegroup',
      nodegroup('analytics-1', 'arn:aws:iam::111122223333:role/eks-node-b'),
    );
    assert.equal(decision.allowed, true);
  });

  test('denies another role, naming the input field it came from', () => {
    const denied = denial(
      decideTask(
        'prod-eks-createNodegroup',
        nodegroup('analytics-1', 'arn:aws:iam::111122223333:role/Admin'),
      ),
    );
    assert.equal(denied.field, 'passRoles');
    assert.equal(denied.taskField, '$.NodeRole');
    assert.equal(denied.value, 'arn:aws:iam::111122223333:role/Admin');
  });

  test('the Auto Mode node role of createCluster is a passed role too', () => {
    const open = parsePolicyDocument(
      {
        rules: [
          {
            activities: ['*'],
            clusters: ['*'],
            operations: ['*'],
            passRoles: ['arn:aws:iam::111122223333:role/cluster'],
          },
        ],
      },
      'test',
    );
    const denied = denial(
      decideTask(
        'prod-eks-createCluster',
        {
          Name: 'c',
          RoleArn: 'arn:aws:iam::111122223333:role/cluster',
          ResourcesVpcConfig: {},
          ComputeConfig: { Enabled: true, NodeRoleArn: 'arn:aws:iam::111122223333:role/Admin' },
        },
        open,
      ),
    );
    assert.equal(denied.taskField, '$.ComputeConfig.NodeRoleArn');
  });
});

describe('the default policy (none configured)', () => {
  test('allows eks:runJob and eks:runJob.sync on any cluster and namespace', () => {
    for (const activity of ['prod-eks-runJob', 'prod-eks-runJob-sync', 'eks-runJob']) {
      assert.equal(
        decideTask(activity, runJob('anything', 'kube-system'), defaultPolicy).allowed,
        true,
        activity,
      );
    }
  });

  test('denies eks:call and every control-plane operation', () => {
    assert.equal(
      denial(decideTask('prod-eks-call', call('GET', '/api/v1/namespaces/a/pods'), defaultPolicy))
        .field,
      'activities',
    );
    assert.equal(
      denial(decideTask('prod-eks-deleteCluster-sync', { Name: 'c' }, defaultPolicy)).field,
      'activities',
    );
    assert.equal(
      denial(
        decideTask(
          'prod-eks-createNodegroup',
          nodegroup('c', 'arn:aws:iam::1:role/r'),
          defaultPolicy,
        ),
      ).field,
      'activities',
    );
  });
});

describe('describeTaskAccess', () => {
  test('knows every integration the worker serves', async () => {
    const { activitySuffixes } = await import('../../../lib/integrations/activity-suffixes.ts');
    for (const suffix of activitySuffixes) {
      // An invalid input throws the integration's own EKS.InvalidParameters: the suffix is known.
      assert.throws(
        () => describeTaskAccess(suffix, 42),
        (error: Error & { errorName?: string }) => error.errorName === 'EKS.InvalidParameters',
        suffix,
      );
    }
    assert.equal(describeTaskAccess('eks-somethingNew', {}), undefined);
  });
});
