/**
 * The long-lived worker's IAM role, for serverless.process.yml (process mode: the activities, the
 * hand-off queue and this role, no Lambda poller). Its permissions are the Lambda's own, read from
 * serverless.yml's `provider.iam.role.statements` so the two never drift, the `HandOff` statement
 * included: every replica parks its `.sync` waits in the hand-off queue and carries waits from it
 * under a lease (send, receive, change visibility, delete), the queue that serverless.process.yml
 * declares from the same definition (hand-off-queue.cjs), so `!GetAtt HandOffQueue.Arn` resolves.
 *
 * Trust: EKS Pod Identity (`pods.eks.amazonaws.com`) always; IRSA too when the `oidcProvider`
 * parameter names the cluster's OIDC issuer (`oidc.eks.<region>.amazonaws.com/id/<id>`), for the
 * ServiceAccount `serviceAccount` (`<namespace>:<name>`, default the manifests'
 * `eks-activity-worker:eks-activity-worker`). Built here, not in YAML, because an IRSA condition
 * key contains the issuer (`<issuer>:sub`), and CloudFormation cannot compute a key.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const YAML = require('yaml');

/** CloudFormation short-form tags used by serverless.yml's statements, as their long forms. */
const cloudFormationTags = [
  { tag: '!Sub', resolve: (value) => ({ 'Fn::Sub': value }) },
  { tag: '!GetAtt', resolve: (value) => ({ 'Fn::GetAtt': value.split('.') }) },
  { tag: '!Ref', resolve: (value) => ({ Ref: value }) },
];

/**
 * serverless.yml's worker statements, all of them: none is Lambda-only since process replicas
 * carry waits too. (The Framework's own statements for log groups and the SQS event source are not
 * in the file, so they do not come along.)
 */
const readWorkerStatements = (serverlessYmlPath = join(__dirname, '../../serverless.yml')) => {
  const document = YAML.parse(readFileSync(serverlessYmlPath, 'utf8'), {
    customTags: cloudFormationTags,
    logLevel: 'silent',
  });
  return document.provider.iam.role.statements;
};

/** The trust policy: Pod Identity, and IRSA for one ServiceAccount when an issuer is given. */
const toAssumeRolePolicy = (oidcProvider, serviceAccount) => {
  const statements = [
    {
      Sid: 'EksPodIdentity',
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    },
  ];
  if (oidcProvider) {
    const issuer = oidcProvider.replace(/^https:\/\//, '');
    statements.push({
      Sid: 'EksIrsa',
      Effect: 'Allow',
      Principal: {
        Federated: {
          'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:oidc-provider/${issuer}`,
        },
      },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${issuer}:sub`]: `system:serviceaccount:${serviceAccount}`,
          [`${issuer}:aud`]: 'sts.amazonaws.com',
        },
      },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
};

const describeWorkerRole = ({ stage, oidcProvider, serviceAccount }) => ({
  Resources: {
    WorkerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: `eks-activity-worker-${stage}-worker`,
        Description: 'The long-lived eks-activity-worker (process mode): map this role in clusters',
        AssumeRolePolicyDocument: toAssumeRolePolicy(oidcProvider, serviceAccount),
        Policies: [
          {
            PolicyName: 'eks-activity-worker',
            PolicyDocument: { Version: '2012-10-17', Statement: readWorkerStatements() },
          },
        ],
      },
    },
  },
  Outputs: {
    WorkerRoleArn: {
      Description:
        'IAM role of the worker process (ServiceAccount annotation or Pod Identity association)',
      Value: { 'Fn::GetAtt': ['WorkerRole', 'Arn'] },
    },
  },
});

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const oidcProvider = await resolveVariable('param:oidcProvider');
  const serviceAccount = await resolveVariable('param:serviceAccount');
  return describeWorkerRole({ stage, oidcProvider, serviceAccount });
};
module.exports.describeWorkerRole = describeWorkerRole;
module.exports.readWorkerStatements = readWorkerStatements;
