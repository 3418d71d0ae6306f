/**
 * Builds the real dependencies of a host in one place (SDK clients, logger, integrations), so
 * hosts stay thin and tests can replace any piece by passing their own.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { makeSfnActivityApi, makeSfnClient } from '../aws/sfn-activity-client.ts';
import type { WorkerConfig } from '../config.ts';
import { makeIntegrations } from '../integrations/index.ts';
import type { Integration } from '../integrations/types.ts';
import { makeLogger } from '../logger.ts';
import type { ActivityApi } from '../worker/ports.ts';

/** The real dependencies of a worker host. */
export interface RuntimeDependencies {
  readonly logger: Logger;
  readonly activityApi: ActivityApi;
  readonly integrations: readonly Integration[];
  /** Logs the policy in force (see IntegrationSet.logPolicy). */
  logPolicy(): void;
  /** Closes SDK clients (their keep-alive sockets) once the worker has stopped. */
  close(): void;
}

/** Builds the logger, the Step Functions client and every integration from the configuration. */
export const makeRuntimeDependencies = (
  config: WorkerConfig,
  options: { host: string; sfnClient?: SFNClient } = { host: 'process' },
): RuntimeDependencies => {
  const logger = makeLogger({ logLevel: config.logLevel, persistentKeys: { host: options.host } });
  const sfnClient =
    options.sfnClient ??
    makeSfnClient({
      // One socket per possible long poll plus one per running task (heartbeats, answers).
      maxSockets:
        config.maxConcurrentTasks + config.pollersPerActivity * config.activityArns.length,
    });
  const integrations = makeIntegrations({ config, logger });
  return {
    logger,
    activityApi: makeSfnActivityApi(sfnClient),
    integrations: integrations.integrations,
    logPolicy: integrations.logPolicy,
    close: () => {
      integrations.close();
      sfnClient.destroy();
    },
  };
};
