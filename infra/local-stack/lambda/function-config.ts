/**
 * A local function's configuration, checked as Lambda's CreateFunction checks it where a mistake
 * would make the simulation lie (a timeout or memory size Lambda refuses, a variable Lambda
 * reserves for itself), and the environment a sandbox starts with: the variables Lambda sets,
 * then the function's own.
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { localAccountId, localRegion } from '../identities.ts';
import { InvalidParameterValueException } from './lambda-errors.ts';

/** The repository root: the default task root, where `tsx` and the handler modules resolve. */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A function as `createLocalFunction` takes it. */
export interface LocalFunctionConfig {
  readonly functionName: string;
  /** The module (absolute, or relative to `taskRoot`; `.ts` runs through tsx) and its export. */
  readonly handler: { readonly modulePath: string; readonly exportName?: string };
  /** Lambda's function timeout, in real milliseconds (Lambda's maximum is 900 s). */
  readonly timeoutMs: number;
  /** 128..10,240 MB; sets the child's heap as Lambda's Node.js bootstrap does. @default 128 */
  readonly memorySizeMb?: number;
  /**
   * The function's variables. AWS_REGION, AWS_DEFAULT_REGION and the credential variables are
   * accepted although Lambda reserves them: locally they stand in for the function's region and
   * its execution role. The other reserved names (AWS_LAMBDA_*, _HANDLER, ...) are refused.
   */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default environment.AWS_REGION, else the local stack's region */
  readonly region?: string;
  /** @default the local stack's account */
  readonly accountId?: string;
  /** The sandboxes that may run at once; an invocation past it is throttled. @default 1000 */
  readonly reservedConcurrency?: number;
  /** The sandboxes' working directory (Lambda's /var/task). @default the repository root */
  readonly taskRoot?: string;
  /** Lambda's 10 s init phase limit. @default 10_000 */
  readonly initTimeoutMs?: number;
  /** SIGSTOP a sandbox between invocations as Lambda freezes it. @default true */
  readonly freezeBetweenInvocations?: boolean;
}

/** The configuration with every default applied. */
export interface ResolvedFunctionConfig {
  readonly functionName: string;
  readonly functionArn: string;
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly timeoutMs: number;
  readonly memorySizeMb: number;
  readonly region: string;
  readonly reservedConcurrency: number;
  readonly taskRoot: string;
  readonly initTimeoutMs: number;
  readonly freezeBetweenInvocations: boolean;
  readonly environment: Readonly<Record<string, string>>;
}

// Lambda refuses these in a function's environment. The region and credential variables are left
// out on purpose (see `environment` above).
const reservedNames = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

const checkRange = (name: string, value: number, min: number, max: number): void => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidParameterValueException(
      `${name} must be an integer in ${min}..${max}: ${value}`,
    );
  }
};

/** Checks a function's configuration and applies the defaults; throws as CreateFunction would. */
export const resolveFunctionConfig = (config: LocalFunctionConfig): ResolvedFunctionConfig => {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.functionName)) {
    throw new InvalidParameterValueException(`Invalid function name: ${config.functionName}`);
  }
  checkRange('timeoutMs', config.timeoutMs, 1, 900_000);
  const memorySizeMb = config.memorySizeMb ?? 128;
  checkRange('memorySizeMb', memorySizeMb, 128, 10_240);
  const reservedConcurrency = config.reservedConcurrency ?? 1000;
  checkRange('reservedConcurrency', reservedConcurrency, 1, 10_000);
  const environment = config.environment ?? {};
  const reserved = Object.keys(environment).filter((name) => reservedNames.has(name));
  if (reserved.length > 0) {
    throw new InvalidParameterValueException(
      'Lambda was unable to configure your environment variables because the environment ' +
        'variables you have provided contains reserved keys that are currently not supported ' +
        `for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  }
  const region = config.region ?? environment.AWS_REGION ?? localRegion;
  if (environment.AWS_REGION !== undefined && environment.AWS_REGION !== region) {
    throw new InvalidParameterValueException(
      `environment.AWS_REGION (${environment.AWS_REGION}) differs from region (${region})`,
    );
  }
  const taskRoot = config.taskRoot ?? repositoryRoot;
  const modulePath = isAbsolute(config.handler.modulePath)
    ? config.handler.modulePath
    : resolve(taskRoot, config.handler.modulePath);
  return {
    functionName: config.functionName,
    functionArn: `arn:aws:lambda:${region}:${config.accountId ?? localAccountId}:function:${config.functionName}`,
    moduleUrl: pathToFileURL(modulePath).href,
    exportName: config.handler.exportName ?? 'handler',
    timeoutMs: config.timeoutMs,
    memorySizeMb,
    region,
    reservedConcurrency,
    taskRoot,
    initTimeoutMs: config.initTimeoutMs ?? 10_000,
    freezeBetweenInvocations: config.freezeBetweenInvocations ?? true,
    environment,
  };
};

/**
 * A new sandbox's whole environment. Nothing of the parent's process leaks in (a test runner's
 * NODE_TEST_CONTEXT would change how the child behaves), except PATH for tools a handler spawns.
 */
export const sandboxEnvironment = (config: ResolvedFunctionConfig): Record<string, string> => {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    // Keep the developer's own AWS profile files out, as a Lambda sandbox has none.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_REGION: config.region,
    AWS_DEFAULT_REGION: config.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`,
    AWS_LAMBDA_FUNCTION_NAME: config.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memorySizeMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${config.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    LAMBDA_TASK_ROOT: config.taskRoot,
    _HANDLER: `${config.moduleUrl}.${config.exportName}`,
    ...config.environment,
  };
};
