/**
 * Validation of `eks:runJob` / `eks:runJob.sync` task input (contract §2.2, §4). Every problem is
 * collected with its JSON path and reported at once as `EKS.InvalidParameters`; nothing is sent to
 * any cluster. Deeper Job validation (container specs, name format) is left to the API server,
 * whose 422 reaches the state machine as `EKS.422`, as with the native integration.
 */
import { parseAllDocuments } from 'yaml';
import { type InputProblem, InvalidParametersError } from '../../errors.ts';
import { reviveBigInt } from '../../json/exact-json.ts';
import type { ClusterTarget } from '../../kube/cluster-target.ts';
import { readClusterTarget } from '../validation/cluster-target.ts';
import { findTooDeepText, findTooDeepValue } from '../validation/input-depth.ts';
import type { KubeJob } from './job-api.ts';
import { checkLogParameters } from './log-parameters.ts';

export interface LogOptions {
  retrieveLogs: boolean;
  rawLogs: boolean;
  /** Passed to the pod log API as query parameters; each value repeats the key. */
  logParameters: Readonly<Record<string, readonly string[]>>;
}

export interface RunJobInput {
  /** Where the cluster is, as the task gave it; `lib/kube` resolves and trusts it. */
  cluster: ClusterTarget;
  namespace: string;
  job: KubeJob;
  logOptions: LogOptions;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// A namespace goes into URL paths, so it is checked here (DNS-1123 label) rather than trusted.
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const maxDnsLabelLength = 63;

const parseJobText = (text: string, problems: InputProblem[]): unknown => {
  // Before parsing: the YAML parser recurses, and would overflow on what the limit refuses.
  const tooDeep = findTooDeepText(text, '$.Job');
  if (tooDeep !== undefined) {
    problems.push(tooDeep);
    return undefined;
  }
  try {
    // Integers as bigint, then revived as parseJson gives them: an int64 field such as
    // activeDeadlineSeconds keeps every digit whether the Job came as an object or as text.
    const documents = parseAllDocuments(text, { intAsBigInt: true });
    if (!Array.isArray(documents)) {
      // An empty stream parses to an EmptyStream, not an array.
      problems.push({ path: '$.Job', message: 'the Job string is empty' });
      return undefined;
    }
    if (documents.length !== 1) {
      problems.push({
        path: '$.Job',
        message: `the Job string must hold one YAML/JSON document, found ${documents.length}`,
      });
      return undefined;
    }
    const [document] = documents;
    const firstError = document?.errors[0];
    if (document === undefined || firstError !== undefined) {
      problems.push({
        path: '$.Job',
        message: `the Job string is not valid JSON or YAML: ${firstError?.message ?? 'empty'}`,
      });
      return undefined;
    }
    return document.toJS({ reviver: reviveBigInt });
  } catch (error) {
    problems.push({
      path: '$.Job',
      message: `the Job string is not valid JSON or YAML: ${(error as Error).message}`,
    });
    return undefined;
  }
};

const checkJob = (value: unknown, problems: InputProblem[]): KubeJob | undefined => {
  const job = typeof value === 'string' ? parseJobText(value, problems) : value;
  if (job === undefined && typeof value === 'string') return undefined;
  if (!isRecord(job)) {
    problems.push({
      path: '$.Job',
      message:
        value === undefined
          ? 'is required'
          : 'must be a batch/v1 Job, as an object or a JSON/YAML string',
    });
    return undefined;
  }
  const before = problems.length;
  const tooDeep = findTooDeepValue(job, '$.Job');
  if (tooDeep !== undefined) {
    problems.push(tooDeep);
    return undefined;
  }
  if (job.apiVersion !== 'batch/v1') {
    problems.push({ path: '$.Job.apiVersion', message: 'must be "batch/v1"' });
  }
  if (job.kind !== 'Job') problems.push({ path: '$.Job.kind', message: 'must be "Job"' });
  const metadata = job.metadata;
  if (!isRecord(metadata)) {
    problems.push({
      path: '$.Job.metadata',
      message: 'is required, with metadata.name or metadata.generateName',
    });
  } else {
    const { name, generateName } = metadata;
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      problems.push({ path: '$.Job.metadata.name', message: 'must be a non-empty string' });
    }
    if (generateName !== undefined && (typeof generateName !== 'string' || generateName === '')) {
      problems.push({ path: '$.Job.metadata.generateName', message: 'must be a non-empty string' });
    }
    if (name === undefined && generateName === undefined) {
      problems.push({
        path: '$.Job.metadata',
        message: 'must have metadata.name or metadata.generateName',
      });
    }
    if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
      problems.push({ path: '$.Job.metadata.namespace', message: 'must be a string' });
    }
  }
  if (job.spec !== undefined && !isRecord(job.spec)) {
    problems.push({ path: '$.Job.spec', message: 'must be an object' });
  }
  return problems.length === before ? (job as KubeJob) : undefined;
};

const checkLogOptions = (value: unknown, sync: boolean, problems: InputProblem[]): LogOptions => {
  const options: LogOptions = { retrieveLogs: false, rawLogs: false, logParameters: {} };
  if (value === undefined) return options;
  if (!sync) {
    problems.push({
      path: '$.LogOptions',
      message: 'is only supported by eks:runJob.sync (eks:runJob does not wait for the Job)',
    });
    return options;
  }
  if (!isRecord(value)) {
    problems.push({ path: '$.LogOptions', message: 'must be an object' });
    return options;
  }
  for (const key of ['RetrieveLogs', 'RawLogs'] as const) {
    const flag = value[key];
    if (flag !== undefined && typeof flag !== 'boolean') {
      problems.push({ path: `$.LogOptions.${key}`, message: 'must be a boolean' });
    }
  }
  options.retrieveLogs = value.RetrieveLogs === true;
  options.rawLogs = value.RawLogs === true;
  const parameters = value.LogParameters;
  if (parameters !== undefined) {
    if (!isRecord(parameters)) {
      problems.push({
        path: '$.LogOptions.LogParameters',
        message: 'must be a map of string to list of strings',
      });
    } else {
      options.logParameters = checkLogParameters(
        parameters,
        '$.LogOptions.LogParameters',
        problems,
      );
    }
  }
  return options;
};

/**
 * Validates and normalises the task input.
 * @param sync whether the integration waits (`eks:runJob.sync`): only then is `LogOptions` allowed.
 * @throws InvalidParametersError listing every problem.
 */
export const parseRunJobInput = (input: unknown, sync: boolean): RunJobInput => {
  if (!isRecord(input)) {
    throw new InvalidParametersError([{ path: '$', message: 'the input must be a JSON object' }]);
  }
  const problems: InputProblem[] = [];
  const cluster = readClusterTarget(input, problems);
  const namespaceInput = input.Namespace;
  if (namespaceInput !== undefined) {
    if (
      typeof namespaceInput !== 'string' ||
      namespaceInput.length > maxDnsLabelLength ||
      !dnsLabel.test(namespaceInput)
    ) {
      problems.push({
        path: '$.Namespace',
        message: 'must be a namespace name (lower-case letters, digits and "-", at most 63)',
      });
    }
  }
  const job = checkJob(input.Job, problems);
  const logOptions = checkLogOptions(input.LogOptions, sync, problems);

  // (ours) A namespace in the Job's own metadata is honoured when `Namespace` is absent; when both
  // are given they must agree (the API server would reject the mismatch with a 400 anyway).
  const jobNamespace = job?.metadata?.namespace;
  const namespace =
    typeof namespaceInput === 'string' ? namespaceInput : (jobNamespace ?? 'default');
  if (jobNamespace !== undefined && jobNamespace !== namespace) {
    problems.push({
      path: '$.Job.metadata.namespace',
      message: `"${jobNamespace}" does not match Namespace "${namespace}"`,
    });
  } else if (
    jobNamespace !== undefined &&
    (jobNamespace.length > maxDnsLabelLength || !dnsLabel.test(jobNamespace))
  ) {
    problems.push({ path: '$.Job.metadata.namespace', message: 'must be a namespace name' });
  }

  if (problems.length > 0 || job === undefined || cluster === undefined) {
    throw new InvalidParametersError(problems);
  }
  return { cluster, namespace, job, logOptions };
};
