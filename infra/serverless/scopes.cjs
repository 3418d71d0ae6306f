/**
 * The IAM scopes of the worker's role (which EKS clusters it may act on, which roles it may pass to
 * EKS) and the policy it enforces, for serverless.yml, from three parameters:
 *
 * - `policyFile`: the worker's policy (README "Security model"), e.g. infra/policies/seed-examples.yaml.
 *   It is validated here with the worker's own parser (a broken policy fails packaging, not every
 *   cold start), handed to the functions as `EKS_WORKER_POLICY`, and the IAM scopes are derived
 *   from it: the cluster patterns of its rules and the role ARNs of its `passRoles`.
 * - `clusterNamePattern`, `passRoleNamePattern`: explicit IAM scopes (name wildcards); when set
 *   they win over what the policy gives.
 *
 * Nothing set means no scope at all. Then a production stage (prod, production, prd, live, or one
 * starting with `prod-`) fails packaging, and any other stage gets `*` with a loud warning: the
 * role could then act on every cluster of the account and pass any role to EKS.
 *
 * Why a file: the scopes are lists computed from the policy, and when the policy passes no role the
 * PassRole statement must deny rather than allow nothing (IAM rejects an empty Resource).
 */
const { readFileSync } = require('node:fs');
const { isAbsolute, join } = require('node:path');

const productionStage = /^(prod|production|prd|live)([-_].*)?$/i;
// EKS cluster names are [0-9A-Za-z][A-Za-z0-9-_]*; a pattern adds IAM's * and ?. Anything else
// (a `$` in particular) would not survive Fn::Sub or could never match.
const clusterPatternSyntax = /^[A-Za-z0-9_*?-]+$/;

const arn = (text) => ({ 'Fn::Sub': text });
const clusterArnsFor = (patterns) =>
  patterns.map((p) =>
    arn(`arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${p}`),
  );
const nodegroupArnsFor = (patterns) =>
  patterns.map((p) =>
    arn(`arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:nodegroup/${p}/*`),
  );
const fargateProfileArnsFor = (patterns) =>
  patterns.map((p) =>
    arn(`arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:fargateprofile/${p}/*`),
  );

/** Validates the policy file with lib/policy (TypeScript, loaded through tsx). */
const readPolicy = (path) => {
  const tsx = require('tsx/cjs/api');
  const { parsePolicyText, PolicyDocumentError } = tsx.require(
    '../../lib/policy/document.ts',
    __filename,
  );
  const text = readFileSync(path, 'utf8');
  let policy;
  try {
    policy = parsePolicyText(text, path);
  } catch (error) {
    if (error instanceof PolicyDocumentError) {
      throw new Error(`policyFile ${path} is invalid:\n  - ${error.problems.join('\n  - ')}`);
    }
    throw error;
  }
  const { parse } = require('yaml');
  return { policy, json: JSON.stringify(parse(text)) };
};

const unique = (values) => [...new Set(values)];

const warnLoudly = (warn, lines) => {
  const bar = '!'.repeat(100);
  warn(['', bar, ...lines.map((line) => `!! ${line}`), bar, ''].join('\n'));
};

/**
 * Everything serverless.yml needs. `warn` prints (packaging output); `serviceDir` resolves a
 * relative `policyFile`.
 */
const describeScopes = ({
  stage,
  policyFile = '',
  clusterNamePattern = '',
  passRoleNamePattern = '',
  serviceDir = process.cwd(),
  warn = (text) => console.warn(text),
}) => {
  const production = productionStage.test(stage);
  const read =
    policyFile === ''
      ? undefined
      : readPolicy(isAbsolute(policyFile) ? policyFile : join(serviceDir, policyFile));
  const wildcard = [];

  let clusterPatterns;
  if (clusterNamePattern !== '') clusterPatterns = [clusterNamePattern];
  else if (read)
    clusterPatterns = unique(read.policy.rules.flatMap((r) => r.clusters.map((p) => p.text)));
  else clusterPatterns = undefined;
  if (clusterPatterns?.length === 0) {
    throw new Error(`policyFile ${policyFile} allows no cluster: the worker could do nothing`);
  }
  if (clusterPatterns === undefined) wildcard.push('clusterNamePattern');
  for (const pattern of clusterPatterns ?? []) {
    if (!clusterPatternSyntax.test(pattern)) {
      throw new Error(
        `cluster pattern '${pattern}' cannot be an IAM resource: EKS cluster names are letters, digits, - and _ (with * and ?)`,
      );
    }
  }

  let passRoleArns;
  if (passRoleNamePattern !== '') {
    passRoleArns = [
      arn(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${passRoleNamePattern}`),
    ];
  } else if (read) {
    passRoleArns = unique(read.policy.rules.flatMap((r) => r.passRoles.map((p) => p.text)));
  } else passRoleArns = undefined;
  if (passRoleArns === undefined) wildcard.push('passRoleNamePattern');

  if (wildcard.length > 0) {
    const missing = `stage '${stage}' sets no policyFile and no ${wildcard.join(' / ')}`;
    if (production) {
      throw new Error(
        `${missing}: a production stage needs narrow scopes. Set --param="policyFile=<your policy>" (README: Security model), or the patterns themselves.`,
      );
    }
    warnLoudly(warn, [
      `WARNING: ${missing}.`,
      `The worker's IAM role may act on EVERY EKS cluster of the account and Region`,
      `and pass ANY IAM role to EKS ('*'). Fine for a sandbox; never for production.`,
      `Set --param="policyFile=infra/policies/<yours>.yaml" (README: Security model).`,
    ]);
  }
  const clusters = clusterPatterns ?? ['*'];
  const roles = passRoleArns ?? [arn(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*`)];

  // No role to pass: deny PassRole (and the role look-ups) outright instead of allowing nothing.
  const roleStatement = (Sid, Action, extra = {}) =>
    roles.length === 0
      ? { Sid, Effect: 'Deny', Action, Resource: '*' }
      : { Sid, Effect: 'Allow', Action, Resource: roles, ...extra };

  return {
    clusterArns: clusterArnsFor(clusters),
    nodegroupArns: nodegroupArnsFor(clusters),
    fargateProfileArns: fargateProfileArnsFor(clusters),
    taggableArns: [
      ...clusterArnsFor(clusters),
      ...nodegroupArnsFor(clusters),
      ...fargateProfileArnsFor(clusters),
    ],
    // CreateNodegroup checks the node role on the caller's behalf.
    nodeRoleChecksStatement: roleStatement('EksNodeRoleChecks', [
      'iam:GetRole',
      'iam:ListAttachedRolePolicies',
    ]),
    passRoleStatement: roleStatement('PassRolesToEksOnly', ['iam:PassRole'], {
      Condition: { StringEquals: { 'iam:PassedToService': 'eks.amazonaws.com' } },
    }),
    // The policy as compact JSON for EKS_WORKER_POLICY; '' (unset: the worker's default policy).
    policyJson: read ? read.json : '',
  };
};

/**
 * Lambda allows 4 KB of environment in all; the activity ARNs take about 1.3 KB of it. A larger
 * policy belongs in a file next to a process worker (EKS_WORKER_POLICY_FILE).
 */
const maxPolicyJsonBytes = 2_048;

// The Framework calls this once per `${file(...)}` reference, and again when a parameter was not
// resolvable yet (resolveVariable throws then): compute and warn once per set of inputs.
const described = new Map();
module.exports = async ({ resolveVariable }) => {
  const inputs = {
    stage: await resolveVariable('sls:stage'),
    policyFile: String((await resolveVariable('param:policyFile')) ?? ''),
    clusterNamePattern: String((await resolveVariable('param:clusterNamePattern')) ?? ''),
    passRoleNamePattern: String((await resolveVariable('param:passRoleNamePattern')) ?? ''),
  };
  const key = JSON.stringify(inputs);
  if (!described.has(key)) {
    const scopes = describeScopes({ ...inputs, serviceDir: join(__dirname, '../..') });
    const bytes = Buffer.byteLength(scopes.policyJson);
    if (bytes > maxPolicyJsonBytes) {
      throw new Error(
        `the policy is ${bytes} bytes as JSON; Lambda's environment holds at most ${maxPolicyJsonBytes} of it`,
      );
    }
    described.set(key, scopes);
  }
  return described.get(key);
};
module.exports.describeScopes = describeScopes;
