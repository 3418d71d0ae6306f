/**
 * The worker's Step Functions activities (contract §1) as CloudFormation, for serverless.yml.
 *
 * Why a file and not YAML: the 15 activities appear in five places (resources, outputs, the
 * GetActivityTask statement, the poller's `EKS_WORKER_ACTIVITY_ARNS`, the resumer's), and one list
 * keeps them from drifting. CommonJS because the Serverless Framework `require`s `${file(...)}`
 * sources (our package is ESM, so the `.cjs` extension is what makes it loadable).
 *
 * Usage in serverless.yml: `${file(./infra/serverless/activities.cjs):resources}` and so on; the
 * Framework calls the exported function with `resolveVariable`, used here for the stage.
 */

/**
 * Activity name suffixes, one per native integration (contract §1): the worker's own list, which
 * its integrations are checked against, so what is declared here is what the worker serves.
 */
const activitySuffixes = require('../../lib/integrations/activity-suffixes.json');

/** `eks-runJob-sync` -> `ActivityEksRunJobSync` (CloudFormation logical ids are alphanumeric). */
const toLogicalId = (suffix) =>
  `Activity${suffix
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}`;

/** `eks-runJob-sync` -> `ActivityArn_eks_runJob_sync`, the state machines' substitution key. */
const toSubstitutionKey = (suffix) => `ActivityArn_${suffix.replaceAll('-', '_')}`;

/**
 * `eks-runJob-sync` -> `ActivityEksRunJobSyncArn`, the stack output holding that ARN. Not the
 * substitution key: CloudFormation rejects output names that are not alphanumeric.
 */
const toOutputKey = (suffix) => `${toLogicalId(suffix)}Arn`;

/**
 * `eks-activity-worker`, `prod`, `eks-runJob-sync` -> `eks-activity-worker-prod-ActivityEksRunJobSyncArn`:
 * the export other stacks import (`Fn::ImportValue`, CDK `Fn.importValue`). Export names are
 * unique per account and Region, so the service and the stage are part of it.
 */
const toExportName = (service, stage, suffix) => `${service}-${stage}-${toOutputKey(suffix)}`;

/** Everything serverless.yml needs, for one stage. */
const describeActivities = (stage, service = 'eks-activity-worker') => {
  const resources = {};
  const outputs = {};
  for (const suffix of activitySuffixes) {
    const logicalId = toLogicalId(suffix);
    resources[logicalId] = {
      Type: 'AWS::StepFunctions::Activity',
      // The worker finds the integration from the end of the name; the stage keeps the
      // activities of several stages in one account apart (names are unique per Region).
      Properties: { Name: `${stage}-${suffix}` },
    };
    outputs[toOutputKey(suffix)] = {
      Description: `ARN of the ${stage}-${suffix} activity (native arn:aws:states:::${suffix
        .replace(/^eks-/, 'eks:')
        .replace(/-sync$/, '.sync')})`,
      // Ref of an AWS::StepFunctions::Activity is its ARN.
      Value: { Ref: logicalId },
      Export: { Name: toExportName(service, stage, suffix) },
    };
  }
  const arnRefs = activitySuffixes.map((suffix) => ({ Ref: toLogicalId(suffix) }));
  return {
    suffixes: activitySuffixes,
    resources: { Resources: resources, Outputs: outputs },
    arnRefs,
    // The format lib/config.ts reads for EKS_WORKER_ACTIVITY_ARNS: comma-separated ARNs.
    arnList: { 'Fn::Join': [',', arnRefs] },
  };
};

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  return describeActivities(stage, service);
};
module.exports.activitySuffixes = activitySuffixes;
module.exports.describeActivities = describeActivities;
module.exports.toLogicalId = toLogicalId;
module.exports.toSubstitutionKey = toSubstitutionKey;
module.exports.toOutputKey = toOutputKey;
module.exports.toExportName = toExportName;
