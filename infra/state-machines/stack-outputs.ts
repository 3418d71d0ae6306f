/**
 * The deployed activity ARNs, read from whatever describes the stack, as `DefinitionSubstitutions`
 * values: `aws cloudformation describe-stacks` output (`Stacks[].Outputs[].OutputValue`), its
 * `--query 'Stacks[0].Outputs'`, a CDK `--outputs-file`, `aws stepfunctions list-activities`, or
 * any JSON or YAML holding the ARNs. Why by value and not by output key: the ARN's activity name
 * says which integration it serves (the same rule the worker uses), so every shape above works,
 * and a stack that names its outputs differently does too.
 */

import { readActivityName, resolveIntegration } from '../../lib/worker/resolve-integration.ts';
import { toSubstitutionKey } from './build.ts';
import { allActivitySuffixes } from './native-resources.ts';

const collectStrings = (value: unknown, into: Set<string>): Set<string> => {
  if (typeof value === 'string') into.add(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (value && typeof value === 'object') {
    for (const item of Object.values(value)) collectStrings(item, into);
  }
  return into;
};

/**
 * `{ ActivityArn_eks_runJob_sync: 'arn:...:activity:prod-eks-runJob-sync', ... }` for every
 * activity ARN found anywhere in `document`. Throws when two ARNs serve the same integration (the
 * outputs of several stages mixed): which one is meant cannot be guessed.
 */
export const activityArnsFromStackOutputs = (document: unknown): Record<string, string> => {
  const suffixes = allActivitySuffixes.map((activitySuffix) => ({ activitySuffix }));
  const found = new Map<string, string[]>();
  for (const text of collectStrings(document, new Set())) {
    const name = readActivityName(text);
    const suffix = name === undefined ? undefined : resolveIntegration(name, suffixes);
    if (suffix)
      found.set(suffix.activitySuffix, [...(found.get(suffix.activitySuffix) ?? []), text]);
  }
  const clashes = [...found].filter(([, arns]) => arns.length > 1);
  if (clashes.length > 0) {
    const listed = clashes.map(([suffix, arns]) => `${suffix}: ${arns.join(', ')}`).join('; ');
    throw new Error(
      `several activities serve the same integration (give one stack's outputs): ${listed}`,
    );
  }
  return Object.fromEntries(
    [...found].map(([suffix, [arn]]) => [toSubstitutionKey(suffix), arn as string]),
  );
};
