/**
 * serverless.process.yml, packaged offline like serverless.yml: the activities, the hand-off queue
 * (the replicas park and carry `.sync` waits there) and the worker's IAM role for process mode, no
 * Lambda poller to compete with the process, and the same permissions as the Lambda's role (the
 * hand-off queue's included), trusted by EKS Pod Identity and, when the cluster's OIDC issuer is
 * given, IRSA for the manifests' ServiceAccount.
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

describe('serverless.process.yml: activities, the hand-off queue and the worker role, no Lambda', () => {
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

  test('declares the same 15 activities as the Lambda stack, and no function or schedule', () => {
    const activityNames = (t: CfnTemplate) =>
      Object.values(t.Resources)
        .filter((r) => r.Type === 'AWS::StepFunctions::Activity')
        .map((r) => r.Properties.Name)
        .sort();
    assert.equal(activityNames(template).length, 15);
    assert.deepEqual(activityNames(template), activityNames(lambdaTemplate));
    const types = typesOf(template);
    for (const absent of [
      'AWS::Lambda::Function',
      'AWS::Lambda::EventSourceMapping',
      'AWS::Events::Rule',
    ]) {
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

  test('the hand-off queue and its dead-letter queue, as in the Lambda stack, under this service’s names', () => {
    const ids = ['HandOffQueue', 'HandOffDeadLetterQueue', 'HandOffQueuesTlsOnly'];
    for (const id of ids) {
      const { QueueName: name, ...rest } = template.Resources[id]?.Properties ?? {};
      const { QueueName: lambdaName, ...lambdaRest } =
        lambdaTemplate.Resources[id]?.Properties ?? {};
      assert.deepEqual(rest, lambdaRest, id);
      assert.equal(template.Resources[id]?.Type, lambdaTemplate.Resources[id]?.Type, id);
      // Its own names: both stacks can exist in one account without sharing waits.
      if (name !== undefined) {
        assert.match(String(name), /^eks-activity-worker-process-test-handoff(-dlq)?$/, id);
        assert.notEqual(name, lambdaName);
      }
    }
    const queue = template.Resources.HandOffQueue?.Properties ?? {};
    assert.equal(queue.VisibilityTimeout, 900);
    assert.equal(queue.SqsManagedSseEnabled, true);
    assert.deepEqual(queue.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': ['HandOffDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 10,
    });
    assert.equal(template.Resources.HandOffDeadLetterQueue?.Properties.SqsManagedSseEnabled, true);
    // For the ConfigMap's EKS_WORKER_HANDOFF_QUEUE_URL.
    assert.deepEqual(template.Outputs.HandOffQueueUrl?.Value, { Ref: 'HandOffQueue' });
    assert.deepEqual(template.Outputs.HandOffDeadLetterQueueUrl?.Value, {
      Ref: 'HandOffDeadLetterQueue',
    });
  });

  test('the worker role has every statement of the Lambda role, the hand-off queue’s included', () => {
    const lambdaStatements = (
      (lambdaTemplate.Resources.IamRoleLambdaExecution?.Properties ?? { Policies: [] }) as {
        Policies: { PolicyDocument: { Statement: Statement[] } }[];
      }
    ).Policies.flatMap((p) => p.PolicyDocument.Statement).filter((s) => s.Sid !== undefined);
    const workerStatements = roleOf().Policies.flatMap((p) => p.PolicyDocument.Statement);
    assert.ok(lambdaStatements.length >= 5);
    assert.deepEqual(workerStatements, lambdaStatements);
    const handOff = workerStatements.find((s) => s.Sid === 'HandOff');
    assert.deepEqual(handOff?.Action, [
      'sqs:SendMessage',
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
    ]);
    // This stack's own queue, declared beside the role.
    assert.deepEqual(handOff?.Resource, [{ 'Fn::GetAtt': ['HandOffQueue', 'Arn'] }]);
    // Nothing of the Lambda event source's (GetQueueAttributes) comes along.
    assert.ok(!JSON.stringify(workerStatements).includes('sqs:GetQueueAttributes'));
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
