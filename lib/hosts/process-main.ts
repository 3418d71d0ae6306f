/**
 * The process command: `tsx lib/hosts/process-main.ts` (or the bundled equivalent). Reads the
 * configuration from the environment (see `formatConfigTable()` in lib/config.ts), serves the
 * activities until SIGTERM/SIGINT, and exits 0 after a graceful stop; 2 on a configuration error.
 */
import { makeSqsHandOff } from '../aws/sqs-hand-off-queue.ts';
import { ConfigError, formatConfigTable, loadConfig } from '../config.ts';
import { WorkerConfigurationError } from '../worker/resolve-integration.ts';
import { makeRuntimeDependencies } from './deps.ts';
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
  const deps = makeRuntimeDependencies(config, { host: 'process' });
  logProcessWarningsAsJson(deps.logger);
  deps.logPolicy();
  // With a hand-off queue, tasks still running when the shutdown grace ends go to the resumer
  // instead of failing as EKS.WorkerInterrupted.
  const handOff =
    config.handOffQueueUrl === undefined
      ? undefined
      : makeSqsHandOff({
          queueUrl: config.handOffQueueUrl,
          delaySeconds: config.requeueDelaySeconds,
        });
  // Off unless EKS_WORKER_HTTP_PORT is set: /healthz, /readyz and Prometheus /metrics.
  const observability = await startProcessObservability(config, deps.activityApi, deps.logger);
  try {
    await runProcessWorker({
      config,
      ...deps,
      activityApi: observability.activityApi,
      ...(observability.observer ? { observer: observability.observer } : {}),
      onStarted: observability.onStarted,
      onStopping: observability.onStopping,
      ...(handOff ? { handOff: handOff.handOff } : {}),
    });
    return 0;
  } catch (error) {
    if (!(error instanceof WorkerConfigurationError)) throw error;
    deps.logger.error('Worker configuration is invalid', { problems: error.problems });
    return exitCodeForConfigurationError;
  } finally {
    await observability.close();
    handOff?.close();
    deps.close();
  }
};

process.exitCode = await main();
