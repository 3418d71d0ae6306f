/**
 * The process command: `tsx lib/hosts/process-main.ts` (or the bundled equivalent). Reads the
 * configuration from the environment (see `formatConfigTable()` in lib/config.ts), serves the
 * activities until SIGTERM/SIGINT, and exits 0 after a graceful stop; 2 on a configuration error.
 */
import { ConfigError, formatConfigTable, loadConfig } from '../config.ts';
import { WorkerConfigurationError } from '../worker/resolve-integration.ts';
import { composeWorker } from './compose.ts';
import { runProcessWorker } from './process.ts';
import { startProcessObservability } from './process-observability.ts';
import { logProcessWarningsAsJson } from './process-warnings.ts';

const exitCodeForConfigurationError = 2;

const main = async (): Promise<number> => {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n\nEnvironment variables:\n${formatConfigTable()}\n`);
    return exitCodeForConfigurationError;
  }
  const composition = composeWorker(config, 'process');
  logProcessWarningsAsJson(composition.logger);
  composition.logPolicy();
  // Off unless EKS_WORKER_HTTP_PORT is set: /healthz, /readyz and Prometheus /metrics.
  const observability = await startProcessObservability(
    config,
    composition.activityApi,
    composition.logger,
  );
  try {
    // With a hand-off queue, `.sync` waits are parked there and carried by any replica, and tasks
    // still running when the shutdown grace ends go there instead of failing as interrupted.
    await runProcessWorker({
      config,
      integrations: composition.integrations,
      logger: composition.logger,
      activityApi: observability.activityApi,
      ...(observability.observer ? { observer: observability.observer } : {}),
      onStarted: observability.onStarted,
      onStopping: observability.onStopping,
      ...(composition.handOff ? { handOff: composition.handOff } : {}),
      ...(composition.handOffQueue ? { handOffQueue: composition.handOffQueue } : {}),
    });
    return 0;
  } catch (error) {
    if (!(error instanceof WorkerConfigurationError)) throw error;
    composition.logger.error('Worker configuration is invalid', { problems: error.problems });
    return exitCodeForConfigurationError;
  } finally {
    await observability.close();
    composition.close();
  }
};

process.exitCode = await main();
