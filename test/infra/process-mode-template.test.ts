/**
 * serverless.process.yml, packaged offline like serverless.yml: the activities and the worker's
 * IAM role for process mode, no Lambda poller to compete with the process, and the same
 * permissions as the Lambda's role (less the hand-off queue), trusted by EKS Pod Identity and,
 * when the cluster's OIDC issuer is given, IRSA for the manifests' ServiceAccount.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CfnTemplate, packageOptions, packageService, runServerless } from './packaged.ts';

const oidcIssuer = 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: Record<string, unknown>;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, string>>;
}

const packageProcessMode = async (outDir: string, params: readonly string[]): Promise<void> => {
  await runServerless([
    'package',
    '--config',
    'serverless.process.yml',
    '--package',
    outDir,
    '--stage',
    packageOptions.stage,
    '--region',
    packageOptions.region,
    ...params.map((param) => `--param=${param}`),
  ]);
};

describe('serverless.process.yml: activities and the worker role, no Lambda', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'process-mode-package-'));
  let template: CfnTemplate;
  let lambdaTemplate: CfnTemplate;

  before(async () => {
    await packageProcessMode(outDir, [`oidcProvider=${oidcIssuer}`]);
    template = JSON.parse(
      readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'),
    );
    ({ template: lambdaTemplate } = await packageService());
  });

  after(() => rmSync(outDir, { recursive: true, force: true }));

  const typesOf = (t: CfnTemplate) => Object.values(t.Resources).map((r) => r.Type);
  const roleOf = () =>
    template.Resources.WorkerRole?.Properties as {
      AssumeRolePolicyDocument: { Statement: Statement[] };
      Policies: { PolicyDocument: { Statement: Statement[] } }[];
    };

  test('declares the same 15 activities as the Lambda stack, and no function, queue or schedule', () => {
    const activityNames = (t: CfnTemplate) =>
      Object.values(t.Resources)
        .filter((r) => r.Type === 'AWS::StepFunctions::Activity')
        .map((r) => r.Properties.Name)
        .sort();
    assert.equal(activityNames(template).length, 15);
    assert.deepEqual(activityNames(template), activityNames(lambdaTemplate));
    const types = typesOf(template);
    for (const absent of ['AWS::Lambda::Function', 'AWS::SQS::Queue', 'AWS::Events::Rule']) {
      assert.ok(!types.includes(absent), `no ${absent}`);
    }
    assert.ok(
      template.Outputs.ActivityEksRunJobSyncArn?.Export,
      'activity ARNs exported as in the Lambda stack',
    );
    assert.deepEqual(template.Outputs.WorkerRoleArn?.Value, {
      'Fn::GetAtt': ['WorkerRole', 'Arn'],
    });
  });

  test('the worker role has the Lambda role’s statements, except the hand-off queue', () => {
    const lambdaStatements = (
      (lambdaTemplate.Resources.IamRoleLambdaExecution?.Properties ?? { Policies: [] }) as {
        Policies: { PolicyDocument: { Statement: Statement[] } }[];
      }
    ).Policies.flatMap((p) => p.PolicyDocument.Statement).filter(
      (s) => s.Sid !== undefined && s.Sid !== 'HandOff',
    );
    const workerStatements = roleOf().Policies.flatMap((p) => p.PolicyDocument.Statement);
    assert.ok(lambdaStatements.length >= 5);
    assert.deepEqual(workerStatements, lambdaStatements);
    assert.ok(!JSON.stringify(workerStatements).includes('sqs:'));
  });

  test('EKS Pod Identity and IRSA (for the manifests’ ServiceAccount only) may assume it', () => {
    const [podIdentity, irsa] = roleOf().AssumeRolePolicyDocument.Statement;
    assert.deepEqual(podIdentity?.Principal, { Service: 'pods.eks.amazonaws.com' });
    assert.deepEqual(podIdentity?.Action, ['sts:AssumeRole', 'sts:TagSession']);
    assert.equal(irsa?.Action, 'sts:AssumeRoleWithWebIdentity');
    assert.deepEqual(irsa?.Condition?.StringEquals, {
      [`${oidcIssuer}:sub`]: 'system:serviceaccount:eks-activity-worker:eks-activity-worker',
      [`${oidcIssuer}:aud`]: 'sts.amazonaws.com',
    });
    assert.match(JSON.stringify(irsa?.Principal), new RegExp(`oidc-provider/${oidcIssuer}`));
  });
});
