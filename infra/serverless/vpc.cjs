/**
 * The functions' VPC configuration from two stage parameters, for serverless.yml:
 * `vpc: ${file(./infra/serverless/vpc.cjs)}` on each function.
 *
 * - `vpcSubnetIds`: comma-separated subnet ids (private subnets that can reach the clusters'
 *   private API endpoints, and AWS APIs through a NAT gateway or VPC endpoints for states, eks,
 *   sts and sqs).
 * - `vpcSecurityGroupIds`: comma-separated security group ids (egress to 443 of the clusters'
 *   endpoints and of the AWS endpoints).
 *
 * Both empty (the default) means no VPC: the functions then reach only clusters with a public
 * endpoint, like the native integration. One without the other is a mistake and fails packaging.
 * Set them per stage under `params:` or on the command line:
 * `serverless package --param="vpcSubnetIds=subnet-a,subnet-b" --param="vpcSecurityGroupIds=sg-1"`.
 *
 * Why a file: the Framework cannot leave `vpc` out conditionally in YAML, and a VpcConfig with
 * empty lists is rejected by CloudFormation.
 */
const toIds = (value) =>
  String(value ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');

/** `false` opts the function out of a VPC (the Framework's own convention). */
const toVpcConfig = (subnetValue, securityGroupValue) => {
  const subnetIds = toIds(subnetValue);
  const securityGroupIds = toIds(securityGroupValue);
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return false;
  if (subnetIds.length === 0 || securityGroupIds.length === 0) {
    throw new Error(
      'Set both vpcSubnetIds and vpcSecurityGroupIds (or neither): a Lambda VPC config needs subnets and security groups',
    );
  }
  return { subnetIds, securityGroupIds };
};

module.exports = async ({ resolveVariable }) =>
  toVpcConfig(
    await resolveVariable('param:vpcSubnetIds'),
    await resolveVariable('param:vpcSecurityGroupIds'),
  );
module.exports.toVpcConfig = toVpcConfig;
