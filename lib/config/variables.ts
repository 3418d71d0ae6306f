/**
 * Every variable the worker reads, with its default, its meaning (the README's table is generated
 * from these) and how it is parsed and checked. The order here is the order of the README.
 */
import { hostname } from 'node:os';
import { defaultPolicy } from '../policy/document.ts';
import { readInlinePolicy } from '../policy/load.ts';
import {
  checkRange,
  hasProtocol,
  ok,
  parseBoolean,
  parseInteger,
  parseList,
  parseText,
  type VariableSpec,
  whenSet,
} from './parse.ts';
import { type LogLevelName, LogLevels, type WorkerConfig } from './worker-config.ts';

const activityArnPattern = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_-]{1,80}$/;

/** Token lifetime is 15 minutes from signing; re-signing after 14 risks a token expiring in use. */
const maxTokenRefreshMs = 14 * 60_000;

export const configSpecs: { readonly [K in keyof WorkerConfig]: VariableSpec<WorkerConfig[K]> } = {
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
    parse: parseText,
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
      const bad = urls.filter((url) => !hasProtocol(url, 'https:'));
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
    parse: parseText,
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
      'SQS queue that keeps `.sync` waits durable: each is parked there once its Job or cluster operation exists and carried on by whichever worker leases it, so rollouts, kills and invocation ends fail nothing.',
    parse: parseText,
    check: whenSet((url) =>
      hasProtocol(url, 'https:', 'http:') ? undefined : `must be an SQS queue URL, got '${url}'`,
    ),
  },
  httpPort: {
    env: 'EKS_WORKER_HTTP_PORT',
    defaultValue: () => undefined,
    defaultText: '(none: off)',
    meaning:
      'Process: port of the HTTP listener for `/healthz`, `/readyz` and Prometheus `/metrics`.',
    parse: parseInteger,
    check: whenSet(checkRange(0, 65_535)),
  },
  inClusterName: {
    env: 'EKS_WORKER_IN_CLUSTER_NAME',
    defaultValue: () => undefined,
    defaultText: '(none)',
    meaning:
      "Name of the EKS cluster the worker runs in; its tasks use the pod's ServiceAccount token, no EKS token.",
    parse: parseText,
    check: whenSet((name) =>
      /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(name)
        ? undefined
        : `is not an EKS cluster name: '${name}'`,
    ),
  },
  inClusterEndpoint: {
    env: 'EKS_WORKER_IN_CLUSTER_ENDPOINT',
    defaultValue: () => 'https://kubernetes.default.svc',
    defaultText: 'https://kubernetes.default.svc',
    meaning: 'With EKS_WORKER_IN_CLUSTER_NAME: the API server as the pod reaches it.',
    parse: parseText,
    check: (url) => (hasProtocol(url, 'https:') ? undefined : `must be an https:// URL: ${url}`),
  },
  inClusterCredentialsDir: {
    env: 'EKS_WORKER_IN_CLUSTER_CREDENTIALS_DIR',
    defaultValue: () => '/var/run/secrets/kubernetes.io/serviceaccount',
    defaultText: '/var/run/secrets/kubernetes.io/serviceaccount',
    meaning:
      "With EKS_WORKER_IN_CLUSTER_NAME: the folder of the pod's ServiceAccount `token` and `ca.crt`.",
    parse: parseText,
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
    check: whenSet(checkRange(1, 900_000)),
  },
  leaseSeconds: {
    env: 'EKS_WORKER_LEASE_SECONDS',
    // A carried wait is a received hand-off message; its visibility timeout is the lease. If the
    // carrier dies (SIGKILL, OOM, a crashed invocation) another one receives the message once the
    // lease runs out, so the longest a task goes without a heartbeat is the heartbeat interval
    // plus this plus a receive: 20 + 30 + ~1 s at the defaults, under a HeartbeatSeconds of 60.
    // Renewed every half lease (ChangeMessageVisibilityBatch, 10 leases a call).
    defaultValue: () => 30,
    defaultText: '30',
    meaning:
      'Seconds a carried `.sync` wait stays leased to a worker that stops renewing it (it died) before another takes it over; HeartbeatSeconds must exceed the heartbeat interval plus this.',
    parse: parseInteger,
    check: checkRange(5, 3_600),
  },
  maxCarriedTasks: {
    env: 'EKS_WORKER_MAX_CARRIED_TASKS',
    // A carried runJob.sync costs about 57 KiB of RSS and a share of one shared watch (bench
    // "concurrency": 5,000 in 358 MiB). Carried waits need no slot: they do not limit pick-up.
    defaultValue: () => 2_000,
    defaultText: '2000 (Lambda resumer: serverless.yml sets it from its memory)',
    meaning:
      'With a hand-off queue: `.sync` waits this worker carries from the queue at once (0: it carries none and only parks them for others).',
    parse: parseInteger,
    check: checkRange(0, 100_000),
  },
  stage: {
    env: 'EKS_WORKER_STAGE',
    defaultValue: () => undefined,
    defaultText: '(none; Lambda: the stage)',
    meaning:
      'Deployment stage, the `stage` dimension of every metric, so the metrics of dev and prod stay apart.',
    parse: parseText,
    // CloudWatch dimension values: 1 to 1,024 characters; a stage name is far shorter.
    check: whenSet((stage) =>
      stage.length >= 1 && stage.length <= 128 ? undefined : 'must be 1 to 128 characters',
    ),
  },
  policyFile: {
    env: 'EKS_WORKER_POLICY_FILE',
    defaultValue: () => undefined,
    defaultText: '(none)',
    meaning:
      'Policy file (YAML or JSON): per activity, the clusters, namespaces, calls, operations and pass roles allowed. See [Security model](#security-model).',
    parse: parseText,
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
