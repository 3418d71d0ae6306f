/**
 * What the Lambda functions run on, built once per cold start: the composition root's worker
 * (configuration, logger, Step Functions, integrations, the hand-off queue and hand-off) and the
 * metrics.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig } from '../config.ts';
import { type Composition, composeWorker } from './compose.ts';
import { makeWorkerMetrics } from './lambda-metrics.ts';

/** What a Lambda handler runs on; tests build their own with `composeWorker` and overrides. */
export interface LambdaRuntime
  extends Pick<
    Composition,
    'config' | 'logger' | 'activityApi' | 'integrations' | 'handOffQueue' | 'handOff' | 'clock'
  > {
  /** Logs the policy in force; the handlers call it in their first invocation. */
  readonly logPolicy?: () => void;
  readonly metrics: Metrics;
}

/** Builds the runtime from the environment (Lambda sets AWS_REGION; serverless.yml the rest). */
export const makeLambdaRuntime = (
  env: Readonly<Record<string, string | undefined>>,
  host: 'lambda-poller' | 'lambda-resumer',
): LambdaRuntime => {
  const composition = composeWorker(loadConfig(env), host);
  return { ...composition, metrics: makeWorkerMetrics(composition.config, composition.logger) };
};

/**
 * The runtime of a handler, built on first use (once per cold start), and its policy lines logged
 * once from inside the first invocation: the middleware builds the runtime to get its logger, so
 * lines logged while building would lack the invocation's request id.
 */
export const makeLazyRuntime = (makeRuntime: () => LambdaRuntime) => {
  let runtime: LambdaRuntime | undefined;
  let policyLogged = false;
  const getRuntime = (): LambdaRuntime => {
    runtime ??= makeRuntime();
    return runtime;
  };
  return {
    getRuntime,
    logPolicyOnce: (): void => {
      if (policyLogged) return;
      policyLogged = true;
      getRuntime().logPolicy?.();
    },
  };
};
