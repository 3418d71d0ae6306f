/**
 * The worker's configuration: the only module that reads `process.env` (hosts pass it in), validated
 * once at start. Precedence: explicit option > environment variable > default. Every variable has
 * the `EKS_WORKER_` prefix; AWS region, credentials and endpoints come from the AWS SDK's own
 * variables (`AWS_REGION`, `AWS_ENDPOINT_URL_SFN`, `AWS_ENDPOINT_URL_EKS`, ...), read by the SDK.
 *
 * Three parts: the shape (`config/worker-config.ts`), the table of variables with their defaults,
 * parsers and checks (`config/variables.ts`, which the README's table is generated from), and here
 * the loader that applies the precedence and collects every problem.
 */
import type { VariableSpec } from './config/parse.ts';
import { configSpecs as specs } from './config/variables.ts';
import type { WorkerConfig } from './config/worker-config.ts';
import type { WorkerPolicy } from './policy/document.ts';
import { readPolicyFile } from './policy/load.ts';

export { type LogLevelName, LogLevels, type WorkerConfig } from './config/worker-config.ts';

/** Raised by {@link loadConfig}, listing every problem found (not just the first). */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid worker configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Reads `EKS_WORKER_POLICY_FILE` when set: the file replaces the default policy. Setting the
 * inline variable as well is refused (which one wins would be a guess); an explicit `policy`
 * option wins over both, as every option does.
 */
const loadPolicyFile = (
  path: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<WorkerConfig>,
  problems: string[],
): WorkerPolicy | undefined => {
  if (path === undefined || overrides.policy !== undefined) return undefined;
  if ((env.EKS_WORKER_POLICY ?? '').trim() !== '') {
    problems.push('EKS_WORKER_POLICY_FILE and EKS_WORKER_POLICY are both set: set only one');
    return undefined;
  }
  const read = readPolicyFile(path);
  if (read.ok) return read.value;
  problems.push(...read.problem);
  return undefined;
};

/** One row of the configuration table, for the README and `--help`. */
export interface ConfigVariable {
  readonly name: string;
  readonly default: string;
  readonly meaning: string;
}

/** Every variable the worker reads, in the order the README lists them. */
export const configVariables: readonly ConfigVariable[] = Object.values(specs).map((spec) => ({
  name: spec.env,
  default: spec.defaultText,
  meaning: spec.meaning,
}));

/** The variables as a Markdown table, ready to paste into the README. */
export const formatConfigTable = (): string =>
  [
    '| variable | default | meaning |',
    '|---|---|---|',
    ...configVariables.map((v) => `| \`${v.name}\` | ${v.default} | ${v.meaning} |`),
  ].join('\n');

const loadOne = <K extends keyof WorkerConfig>(
  key: K,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<WorkerConfig>,
  problems: string[],
): WorkerConfig[K] | undefined => {
  const spec = specs[key] as VariableSpec<WorkerConfig[K]>;
  let value: WorkerConfig[K];
  let source: string;
  const override = overrides[key];
  const raw = env[spec.env];
  if (override !== undefined) {
    value = override as WorkerConfig[K];
    source = `option ${key}`;
  } else if (raw !== undefined && raw.trim() !== '') {
    const parsed = spec.parse(raw);
    if (!parsed.ok) {
      for (const problem of [parsed.problem].flat()) problems.push(`${spec.env} ${problem}`);
      return undefined;
    }
    value = parsed.value;
    source = spec.env;
  } else if (spec.defaultValue) {
    return spec.defaultValue();
  } else {
    problems.push(`${spec.env} is required: ${spec.meaning}`);
    return undefined;
  }
  const problem = spec.check(value);
  if (problem !== undefined) {
    problems.push(`${source} ${problem}`);
    return undefined;
  }
  return value;
};

/**
 * Reads and validates the configuration. Throws a {@link ConfigError} listing every problem.
 *
 * @param env the environment, usually `process.env` (passed in so nothing else reads it)
 * @param overrides explicit options; they win over the environment
 */
export const loadConfig = (
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<WorkerConfig> = {},
): WorkerConfig => {
  const problems: string[] = [];
  const entries = (Object.keys(specs) as Array<keyof WorkerConfig>).map(
    (key) => [key, loadOne(key, env, overrides, problems)] as const,
  );
  const config = Object.fromEntries(entries) as unknown as WorkerConfig;
  const fromFile = loadPolicyFile(config.policyFile, env, overrides, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return fromFile === undefined ? config : { ...config, policy: fromFile };
};
