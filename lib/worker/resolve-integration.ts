import type { Integration } from '../integrations/types.ts';

/** Raised at start when the worker is configured with something it cannot serve. */
export class WorkerConfigurationError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`The worker cannot start:\n  - ${problems.join('\n  - ')}`);
    this.name = 'WorkerConfigurationError';
    this.problems = problems;
  }
}

// arn:<partition>:states:<region>:<account>:activity:<name>; names are 1-80 of [A-Za-z0-9_-].
const activityArnPattern =
  /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:([A-Za-z0-9_-]{1,80})$/;

/** The activity name of an activity ARN (the part after `:activity:`), or undefined if not one. */
export const readActivityName = (activityArn: string): string | undefined =>
  activityArnPattern.exec(activityArn)?.[1];

/**
 * The integration an activity serves, chosen by the end of its name (contract §1): the name is
 * the integration's suffix itself or ends with `-<suffix>` / `_<suffix>`, so a stage prefix
 * works (`prod-eks-runJob-sync` -> `eks-runJob-sync`) while `eks-runJob-sync` never matches
 * `eks-runJob`. The boundary rule also keeps `myeks-call` from matching `eks-call`. When several
 * match, the longest suffix wins.
 */
export const resolveIntegration = <T extends Pick<Integration, 'activitySuffix'>>(
  activityName: string,
  integrations: readonly T[],
): T | undefined => {
  let best: T | undefined;
  for (const integration of integrations) {
    const suffix = integration.activitySuffix;
    const matches =
      activityName === suffix ||
      activityName.endsWith(`-${suffix}`) ||
      activityName.endsWith(`_${suffix}`);
    if (matches && (best === undefined || suffix.length > best.activitySuffix.length)) {
      best = integration;
    }
  }
  return best;
};

/** One activity the worker polls, with the integration that runs its tasks. */
export interface ServedActivity {
  readonly activityArn: string;
  readonly activityName: string;
  readonly integration: Integration;
}

/**
 * Pairs every activity ARN with its integration, or throws a {@link WorkerConfigurationError}
 * listing every ARN that is malformed or matches no integration. Checked at start so a typo
 * fails the deployment instead of leaving tasks to time out.
 */
export const resolveActivities = (
  activityArns: readonly string[],
  integrations: readonly Integration[],
): ServedActivity[] => {
  const problems: string[] = [];
  const served: ServedActivity[] = [];
  if (activityArns.length === 0) problems.push('no activity ARN was given');
  const known = integrations.map((integration) => integration.activitySuffix).join(', ') || 'none';
  for (const activityArn of new Set(activityArns)) {
    const activityName = readActivityName(activityArn);
    if (activityName === undefined) {
      problems.push(
        `'${activityArn}' is not an activity ARN (arn:aws:states:<region>:<account>:activity:<name>)`,
      );
      continue;
    }
    const integration = resolveIntegration(activityName, integrations);
    if (integration === undefined) {
      problems.push(
        `activity '${activityName}' matches no integration: its name must end with one of ${known}`,
      );
      continue;
    }
    served.push({ activityArn, activityName, integration });
  }
  if (problems.length > 0) throw new WorkerConfigurationError(problems);
  return served;
};
