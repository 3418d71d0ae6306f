/**
 * What EKS documents about request members beyond their types, which the SDK's runtime schemas do
 * not carry (they hold no `@range` or `@length` traits): resource names (1 to 100 characters,
 * pattern) and the ranges of the node group's integer members (EKS API reference,
 * `NodegroupScalingConfig` and `NodegroupUpdateConfig`). Checked on the PascalCase input before
 * anything is sent, so a value EKS would refuse ends as `EKS.InvalidParameters` naming its path.
 */
import type { InputProblem } from '../../errors.ts';
import { findEksNameProblem } from '../validation/eks-names.ts';

/** Top-level members that name an EKS resource, in any of the six requests. */
const nameMembers = ['Name', 'ClusterName', 'NodegroupName', 'FargateProfileName'] as const;

/** Documented ranges, by member path below the request. */
const ranges: readonly { path: readonly string[]; min: number; max?: number }[] = [
  { path: ['ScalingConfig', 'MinSize'], min: 0 },
  { path: ['ScalingConfig', 'MaxSize'], min: 1 },
  { path: ['ScalingConfig', 'DesiredSize'], min: 0 },
  { path: ['UpdateConfig', 'MaxUnavailable'], min: 1, max: 100 },
  { path: ['UpdateConfig', 'MaxUnavailablePercentage'], min: 1, max: 100 },
];

const read = (input: Record<string, unknown>, path: readonly string[]): unknown => {
  let value: unknown = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
};

/**
 * Problems with names and ranges in a PascalCase request. Values of the wrong type are left to
 * the schema walk, which reports them.
 */
export const findConstraintProblems = (input: Record<string, unknown>): InputProblem[] => {
  const problems: InputProblem[] = [];
  for (const member of nameMembers) {
    const value = input[member];
    if (typeof value !== 'string' || value === '') continue;
    const problem = findEksNameProblem(value);
    if (problem !== undefined) problems.push({ path: `$.${member}`, message: problem });
  }
  for (const range of ranges) {
    const value = read(input, range.path);
    if (typeof value !== 'number' || !Number.isInteger(value)) continue;
    if (value < range.min || (range.max !== undefined && value > range.max)) {
      const bounds =
        range.max === undefined ? `at least ${range.min}` : `${range.min} to ${range.max}`;
      problems.push({
        path: `$.${range.path.join('.')}`,
        message: `must be ${bounds}, got ${value}`,
      });
    }
  }
  return problems;
};
