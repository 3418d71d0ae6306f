/**
 * The process command: `tsx lib/hosts/process-main.ts` (or the bundled equivalent). Reads the
 * configuration from the environment (see `formatConfigTable()` in lib/config.ts), serves the
 * activities until SIGTERM/SIGINT, and exits 0 after a graceful stop; 2 on a configuration error.
 */
import { ConfigError, formatConfigTable, loadConfig } from '../config.ts';
import { WorkerConfigurationError } from '../worker/resolve-integration.ts';
import { makeRuntimeDependencies } from './deps.ts';
import { runProcessWorker } from './process.ts';

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
  try {
    await runProcessWorker({ config, ...deps });
    return 0;
  } catch (error) {
    if (!(error instanceof WorkerConfigurationError)) throw error;
    deps.logger.error('Worker configuration is invalid', { problems: error.problems });
    return exitCodeForConfigurationError;
  } finally {
    deps.close();
  }
};

process.exitCode = await main();
