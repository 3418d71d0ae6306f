/**
 * The worker's configuration: the only module that reads `process.env` (hosts pass it in), validated
 * once at start. Precedence: explicit option > environment variable > default. Every variable has
 * the `EKS_WORKER_` prefix; AWS region, credentials and endpoints come from the AWS SDK's own
 * variables (`AWS_REGION`, `AWS_ENDPOINT_URL_SFN`, `AWS_ENDPOINT_URL_EKS`, ...), read by the SDK.
 */
import { hostname } from 'node:os';
import { defaultPolicy, type WorkerPolicy } from './policy/document.ts';
import { readInlinePolicy, readPolicyFile } from './policy/load.ts';

/** Log levels understood by the Powertools logger. */
export const LogLevels = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevelName = (typeof LogLevels)[number];

/** The validated configuration. */
export interface WorkerConfig {
  /** Activities to serve; each name must end with an integration's suffix. */
  readonly activityArns: readonly string[];
  /** Shown in the execution history for every task this worker takes (at most 80 characters). */
  readonly workerName: string;
  /** Tasks running at once across all activities (a poll in flight holds a slot too). */
  readonly maxConcurrentTasks: number;
  /** The most long polls one activity may have in flight; each keeps one, more during bursts. */
  readonly pollersPerActivity: number;
  /** Time between heartbeats of a running task; keep well below the states' HeartbeatSeconds. */
  readonly heartbeatIntervalMs: number;
  /** How long a stopping process lets running tasks finish before interrupting them. */
  readonly shutdownGraceMs: number;
  /** Undo started work (delete the Job, ...) when Step Functions abandons a task. */
  readonly cleanupOnAbandon: boolean;
  /** API server endpoints trusted in addition to the one EKS reports for a cluster. */
  readonly trustedEndpoints: readonly string[];
  /** Age after which a Kubernetes bearer token is re-signed (tokens are valid 15 minutes). */
  readonly tokenRefreshMs: number;
  readonly logLevel: LogLevelName;
  /** The AWS Region of the activities and clusters; it is also signed into Kubernetes tokens. */
  readonly region: string;
  /** While a Job is watched, also GET it this often, in case a watch is silently stuck. */
  readonly jobPollIntervalMs: number;
  /** How often `.sync` control-plane integrations describe the cluster, node group or profile. */
  readonly controlPlanePollIntervalMs: number;
  /**
   * The SQS queue unfinished tasks are handed off to (Lambda: always set; process: optional, then
   * a stopping process hands off instead of failing tasks as interrupted).
   */
  readonly handOffQueueUrl: string | undefined;
  /**
   * Process host: the port of the health and metrics listener (`/healthz`, `/readyz`, `/metrics`);
   * undefined keeps it off. 0 picks a free port (logged).
   */
  readonly httpPort: number | undefined;
  /**
   * The EKS cluster the worker runs in: its tasks authenticate with the pod's ServiceAccount
   * token (re-read as the kubelet rotates it) instead of an EKS token. Undefined: none.
   */
  readonly inClusterName: string | undefined;
  /** The API server as seen from inside the cluster (the `kubernetes` Service). */
  readonly inClusterEndpoint: string;
  /** Where the pod's ServiceAccount `token` and `ca.crt` are mounted. */
  readonly inClusterCredentialsDir: string;
  /** Lambda: the longest a GetActivityTask may take (60 s hold plus network margin). */
  readonly longPollBudgetMs: number;
  /** Lambda: time a task received by the last poll still gets to finish before a hand-off. */
  readonly taskFinishBudgetMs: number;
  /** Lambda: the end of every invocation, kept for interrupting, handing off and flushing metrics. */
  readonly handOffReserveMs: number;
  /**
   * Lambda: how long one invocation starts polls; undefined = as long as the budgets allow. Set it
   * above the schedule interval so the next invocation polls before this one stops.
   */
  readonly pollWindowMs: number | undefined;
  /** Seconds a re-queued task waits in the hand-off queue before a resumer re-checks it. */
  readonly requeueDelaySeconds: number;
  /** The deployment stage (`prod`, `dev`), a dimension of every metric; absent: no such dimension. */
  readonly stage: string | undefined;
  /** The policy file (YAML or JSON) `policy` was read from, if any. */
  readonly policyFile: string | undefined;
  /**
   * What each activity's tasks may do (README "Security model"): from `EKS_WORKER_POLICY_FILE`,
   * `EKS_WORKER_POLICY`, or {@link defaultPolicy} (runJob only).
   */
  readonly policy: WorkerPolicy;
}

/** Raised by {@link loadConfig}, listing every problem found (not just the first). */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid worker configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A failed parse names one problem, or several (a policy document lists each of its problems). */
type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string | readonly string[] };

interface VariableSpec<T> {
  /** The environment variable. */
  readonly env: string;
  /** Default when neither option nor variable is set; absent means required. */
  readonly defaultValue?: () => T;
  /** The default as the README shows it. */
  readonly defaultText: string;
  readonly meaning: string;
  parse(raw: string): Parsed<T>;
  /** Checks a value whatever its source; returns a problem or undefined. */
  check(value: T): string | undefined;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });

const parseInteger = (raw: string): Parsed<number> =>
  /^\s*\d+\s*$/.test(raw)
    ? ok(Number(raw))
    : { ok: false, problem: `must be a whole number, got '${raw}'` };

const parseList = (raw: string): Parsed<string[]> =>
  ok(
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const parseBoolean = (raw: string): Parsed<boolean> => {
  const normalised = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(normalised)) return ok(false);
  return { ok: false, problem: `must be true or false, got '${raw}'` };
};

const checkRange =
  (min: number, max: number) =>
  (value: number): string | undefined =>
    Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}, got ${value}`;

const activityArnPattern = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_-]{1,80}$/;

/** Token lifetime is 15 minutes from signing; re-signing after 14 risks a token expiring in use. */
const maxTokenRefreshMs = 14 * 60_000;

const specs: { readonly [K in keyof WorkerConfig]: VariableSpec<WorkerConfig[K]> } = {
  activityArns: {
    env: 'EKS_WORKER_ACTIVITY_ARNS',
    defaultText: '(required)',
    meaning: 'Comma-separated activity ARNs to serve; each name ends with an integration suffix.',
    parse: parseList,
    check: (arns) => {
      if (arns.length === 0) return 'must list at least one activity ARN';
      const bad = arns.filter((arn) => !activityArnPattern.test(arn));
      return bad.length === 0
        ? undefined
        : `not activity ARNs (arn:aws:states:<region>:<account>:activity:<name>): ${bad.join(', ')}`;
    },
  },
  workerName: {
    env: 'EKS_WORKER_NAME',
    defaultValue: () => hostname().slice(0, 80),
    defaultText: 'the host name',
    meaning: 'Worker name sent with GetActivityTask; shows in the execution history.',
    parse: (raw) => ok(raw.trim()),
    check: (name) =>
      name.length >= 1 && name.length <= 80 ? undefined : 'must be 1 to 80 characters',
  },
  maxConcurrentTasks: {
    env: 'EKS_WORKER_MAX_CONCURRENT_TASKS',
    // Most tasks wait (a .sync Job or cluster) rather than work: a waiting runJob.sync costs a
    // share of one shared watch and about 0.3 MiB (bench: 251 MiB peak at 500, 90 MiB idle). 200
    // keeps a worker under ~160 MiB even when all wait, and leaves the 15 activities a poll each
    // at 80 % load (40 free slots), which 20 could not (30 pollers, 4 free slots).
    defaultValue: () => 200,
    defaultText: '200',
    meaning:
      'Tasks running at once across all activities; each long poll holds a slot too, so a task received always has room.',
    parse: parseInteger,
    check: checkRange(1, 10_000),
  },
  pollersPerActivity: {
    env: 'EKS_WORKER_POLLERS_PER_ACTIVITY',
    // The ceiling of the autoscaled polls, reached only while polls keep returning tasks. 8, as
    // measured: a burst of eks:call tasks drained no faster with 16 (2 cores bound it) and
    // 2-3 times faster than with 1.
    defaultValue: () => 8,
    defaultText: '8',
    meaning:
      'Most long polls in flight per activity: each activity keeps one, one more per poll that returns a task, one less per empty poll.',
    parse: parseInteger,
    check: checkRange(1, 1_000),
  },
  heartbeatIntervalMs: {
    env: 'EKS_WORKER_HEARTBEAT_INTERVAL_MS',
    defaultValue: () => 20_000,
    defaultText: '20000',
    meaning: "Milliseconds between heartbeats; keep below a third of the states' HeartbeatSeconds.",
    parse: parseInteger,
    check: checkRange(1_000, 3_600_000),
  },
  shutdownGraceMs: {
    env: 'EKS_WORKER_SHUTDOWN_GRACE_MS',
    // Counted from SIGTERM. Polls in flight are never aborted (that can lose a task) and take up
    // to 60 s, so the platform's kill timeout (Kubernetes terminationGracePeriodSeconds, ECS
    // stopTimeout) must cover 60 s + this grace + a margin, not their default 30 s (README).
    defaultValue: () => 25_000,
    defaultText: '25000',
    meaning: 'After SIGTERM, milliseconds running tasks may take before they are interrupted.',
    parse: parseInteger,
    check: checkRange(0, 3_600_000),
  },
  cleanupOnAbandon: {
    env: 'EKS_WORKER_CLEANUP_ON_ABANDON',
    defaultValue: () => true,
    defaultText: 'true',
    meaning:
      'Delete what a task created (e.g. its Job) when its execution stops or times out, or when the worker stops without a hand-off queue.',
    parse: parseBoolean,
    check: () => undefined,
  },
  trustedEndpoints: {
    env: 'EKS_WORKER_TRUSTED_ENDPOINTS',
    defaultValue: () => [],
    defaultText: '(none)',
    meaning: 'Comma-separated https:// API server URLs trusted besides the one EKS reports.',
    parse: parseList,
    check: (urls) => {
      const bad = urls.filter((url) => {
        try {
          return new URL(url).protocol !== 'https:';
        } catch {
          return true;
        }
      });
      return bad.length === 0 ? undefined : `must be https:// URLs: ${bad.join(', ')}`;
    },
  },
  tokenRefreshMs: {
    env: 'EKS_WORKER_TOKEN_REFRESH_MS',
    defaultValue: () => 600_000,
    defaultText: '600000',
    meaning: 'Age in milliseconds after which a Kubernetes token is re-signed (at most 840000).',
    parse: parseInteger,
    check: checkRange(1_000, maxTokenRefreshMs),
  },
  logLevel: {
    env: 'EKS_WORKER_LOG_LEVEL',
    defaultValue: () => 'INFO',
    defaultText: 'INFO',
    meaning: `Log level: ${LogLevels.join(', ')}.`,
    parse: (raw) => {
      const level = raw.trim().toUpperCase();
      return (LogLevels as readonly string[]).includes(level)
        ? ok(level as LogLevelName)
        : { ok: false, problem: `must be one of ${LogLevels.join(', ')}, got '${raw}'` };
    },
    check: () => undefined,
  },
  region: {
    env: 'AWS_REGION',
    defaultText: '(required; Lambda sets it)',
    meaning: 'AWS Region of the activities and clusters; signed into Kubernetes bearer tokens.',
    parse: (raw) => ok(raw.trim()),
    check: (region) =>
      /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region) ? undefined : `is not an AWS Region: '${region}'`,
  },
  jobPollIntervalMs: {
    env: 'EKS_WORKER_JOB_POLL_INTERVAL_MS',
    // The watch notices completion within a second; this re-list only guards against a watch that
    // is silently stuck. It costs one paged LIST per namespace per interval, whatever the number
    // of Jobs waited on there, so it does not grow with how long Jobs run.
    defaultValue: () => 60_000,
    defaultText: '60000',
    meaning:
      'While Jobs are waited on, their namespace is re-listed this often (one LIST for all of them), a fallback for a watch that is silently stuck.',
    parse: parseInteger,
    check: checkRange(100, 300_000),
  },
  controlPlanePollIntervalMs: {
    env: 'EKS_WORKER_CONTROL_PLANE_POLL_INTERVAL_MS',
    defaultValue: () => 10_000,
    defaultText: '10000',
    meaning:
      '`.sync` cluster, node-group and Fargate-profile tasks describe their resource this often.',
    parse: parseInteger,
    check: checkRange(50, 300_000),
  },
  handOffQueueUrl: {
    env: 'EKS_WORKER_HANDOFF_QUEUE_URL',
    defaultValue: () => undefined,
    defaultText: '(none; Lambda: the hand-off queue)',
    meaning:
      'SQS queue URL for tasks a stopping worker hands off (with their checkpoint) to the resumer.',
    parse: (raw) => ok(raw.trim()),
    check: (url) => {
      if (url === undefined) return undefined;
      try {
        const protocol = new URL(url).protocol;
        return protocol === 'https:' || protocol === 'http:'
          ? undefined
          : `must be an SQS queue URL, got '${url}'`;
      } catch {
        return `must be an SQS queue URL, got '${url}'`;
      }
    },
  },
  httpPort: {
    env: 'EKS_WORKER_HTTP_PORT',
    defaultValue: () => undefined,
    defaultText: '(none: off)',
    meaning:
      'Process: port of the HTTP listener for `/healthz`, `/readyz` and Prometheus `/metrics`.',
    parse: parseInteger,
    check: (port) => (port === undefined ? undefined : checkRange(0, 65_535)(port)),
  },
  inClusterName: {
    env: 'EKS_WORKER_IN_CLUSTER_NAME',
    defaultValue: () => undefined,
    defaultText: '(none)',
    meaning:
      "Name of the EKS cluster the worker runs in; its tasks use the pod's ServiceAccount token, no EKS token.",
    parse: (raw) => ok(raw.trim()),
    check: (name) =>
      name === undefined || /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(name)
        ? undefined
        : `is not an EKS cluster name: '${name}'`,
  },
  inClusterEndpoint: {
    env: 'EKS_WORKER_IN_CLUSTER_ENDPOINT',
    defaultValue: () => 'https://kubernetes.default.svc',
    defaultText: 'https://kubernetes.default.svc',
    meaning: 'With EKS_WORKER_IN_CLUSTER_NAME: the API server as the pod reaches it.',
    parse: (raw) => ok(raw.trim()),
    check: (url) => {
      try {
        return new URL(url).protocol === 'https:' ? undefined : `must be an https:// URL: ${url}`;
      } catch {
        return `must be an https:// URL: ${url}`;
      }
    },
  },
  inClusterCredentialsDir: {
    env: 'EKS_WORKER_IN_CLUSTER_CREDENTIALS_DIR',
    defaultValue: () => '/var/run/secrets/kubernetes.io/serviceaccount',
    defaultText: '/var/run/secrets/kubernetes.io/serviceaccount',
    meaning:
      "With EKS_WORKER_IN_CLUSTER_NAME: the folder of the pod's ServiceAccount `token` and `ca.crt`.",
    parse: (raw) => ok(raw.trim()),
    check: (dir) => (dir.startsWith('/') ? undefined : `must be an absolute path: ${dir}`),
  },
  longPollBudgetMs: {
    env: 'EKS_WORKER_LONG_POLL_BUDGET_MS',
    // GetActivityTask holds up to 60 s; 5 s more covers the request, retries of the socket and
    // clock skew between Lambda's remaining-time counter and ours.
    defaultValue: () => 65_000,
    defaultText: '65000',
    meaning: 'Lambda: a poll starts only if this long (the 60 s hold plus margin) still fits.',
    parse: parseInteger,
    check: checkRange(10, 120_000),
  },
  taskFinishBudgetMs: {
    env: 'EKS_WORKER_TASK_FINISH_BUDGET_MS',
    defaultValue: () => 30_000,
    defaultText: '30000',
    meaning: 'Lambda: time a task from the last poll gets to finish before it is handed off.',
    parse: parseInteger,
    check: checkRange(0, 600_000),
  },
  handOffReserveMs: {
    env: 'EKS_WORKER_HANDOFF_RESERVE_MS',
    defaultValue: () => 20_000,
    defaultText: '20000',
    meaning:
      'Lambda: the end of each invocation kept for interrupting tasks, handing off and flushing.',
    parse: parseInteger,
    check: checkRange(10, 300_000),
  },
  pollWindowMs: {
    env: 'EKS_WORKER_POLL_WINDOW_MS',
    defaultValue: () => undefined,
    defaultText: '(as long as fits; serverless.yml: 690000)',
    meaning:
      'Lambda: how long an invocation starts polls; above the schedule interval, so invocations overlap and polling never pauses.',
    parse: parseInteger,
    check: (value) => (value === undefined ? undefined : checkRange(1, 900_000)(value)),
  },
  requeueDelaySeconds: {
    env: 'EKS_WORKER_REQUEUE_DELAY_SECONDS',
    defaultValue: () => 5,
    defaultText: '5',
    meaning:
      'SQS DelaySeconds of a re-queued task; HeartbeatSeconds must exceed it plus the batching window.',
    parse: parseInteger,
    check: checkRange(0, 900),
  },
  stage: {
    env: 'EKS_WORKER_STAGE',
    defaultValue: () => undefined,
    defaultText: '(none; Lambda: the stage)',
    meaning:
      'Deployment stage, the `stage` dimension of every metric, so the metrics of dev and prod stay apart.',
    parse: (raw) => ok(raw.trim()),
    // CloudWatch dimension values: 1 to 1,024 characters; a stage name is far shorter.
    check: (stage) =>
      stage === undefined || (stage.length >= 1 && stage.length <= 128)
        ? undefined
        : 'must be 1 to 128 characters',
  },
  policyFile: {
    env: 'EKS_WORKER_POLICY_FILE',
    defaultValue: () => undefined,
    defaultText: '(none)',
    meaning:
      'Policy file (YAML or JSON): per activity, the clusters, namespaces, calls, operations and pass roles allowed. See [Security model](#security-model).',
    parse: (raw) => ok(raw.trim()),
    check: () => undefined,
  },
  policy: {
    env: 'EKS_WORKER_POLICY',
    defaultValue: () => defaultPolicy,
    defaultText: '`eks:runJob(.sync)` only',
    meaning: 'The policy inline (YAML or JSON), instead of `EKS_WORKER_POLICY_FILE`.',
    parse: readInlinePolicy,
    check: () => undefined,
  },
};

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
