/**
 * The one list of integrations the hosts serve. To add one, build it here from
 * {@link IntegrationDependencies} (extend that interface with what it needs, built once in
 * `lib/hosts/deps.ts`) and append it to the returned array. The worker picks an integration by
 * the end of the activity name (`Integration.activitySuffix`), so suffixes must be unique.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerConfig } from '../config.ts';
import type { Integration } from './types.ts';

/** What integrations may be built from; hosts construct it once per process or cold start. */
export interface IntegrationDependencies {
  readonly config: WorkerConfig;
  readonly logger: Logger;
}

/** Every integration the worker serves (none registered yet). */
export const makeIntegrations = (_deps: IntegrationDependencies): Integration[] => [];
