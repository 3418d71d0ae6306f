/**
 * Server-side printing: `kubectl get` asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`
 * and prints the columns the server sends (a real API server's printers in
 * pkg/printers/internalversion). Without them kubectl can only print NAME and AGE. The stand-in
 * prints the types its workflows use with the columns kubectl 1.33 shows against a real server;
 * any other type gets NAME and AGE, as a custom resource without printer columns does.
 */
import type { KubeObject } from './objects.ts';
import type { ResourceType } from './resource-types.ts';

type Cell = string | number;
interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'date';
  format: string;
  description: string;
  priority: number;
}
interface Printer {
  columns: readonly ColumnDefinition[];
  cells(o: KubeObject, nowMs: number): Cell[];
}

/**
 * The Table version an `Accept` header asks for, or undefined when it asks for the plain object
 * first. Entries are taken in order, as the server's content negotiation does.
 */
export const negotiateTable = (accept: string | undefined): 'v1' | 'v1beta1' | undefined => {
  for (const entry of (accept ?? '').split(',')) {
    const [mediaType = '', ...rawParams] = entry.split(';').map((part) => part.trim());
    const params = new Map(
      rawParams.map((param) => {
        const [key = '', value = ''] = param.split('=');
        return [key.trim().toLowerCase(), value.trim()] as const;
      }),
    );
    if (!/^(application\/json|\*\/\*|application\/\*)$/i.test(mediaType)) continue;
    const as = params.get('as');
    if (as === undefined) return undefined;
    const version = params.get('v');
    if (as === 'Table' && params.get('g') === 'meta.k8s.io') {
      if (version === 'v1' || version === 'v1beta1') return version;
    }
  }
  return undefined;
};

/** `3m`, or `3m20s` when the smaller unit is not zero. */
const twoUnits = (whole: number, unit: string, rest: number, restUnit: string): string =>
  rest === 0 ? `${whole}${unit}` : `${whole}${unit}${rest}${restUnit}`;

/** Go's duration.HumanDuration, which kubectl's AGE and DURATION columns use. */
export const formatHumanDuration = (ms: number): string => {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return twoUnits(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return twoUnits(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 192) return twoUnits(days, 'd', hours % 24, 'h');
  if (days < 730) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return twoUnits(years, 'y', days % 365, 'd');
  return `${years}y`;
};

const column = (
  name: string,
  type: ColumnDefinition['type'] = 'string',
  description = '',
  format = '',
): ColumnDefinition => ({ name, type, format, description, priority: 0 });

const nameColumn = column('Name', 'string', 'Name must be unique within a namespace.', 'name');
const ageColumn = column('Age', 'string', 'CreationTimestamp is a timestamp of creation.');

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const age = (o: KubeObject, nowMs: number): string => {
  const created = Date.parse(String(o.metadata.creationTimestamp ?? ''));
  return Number.isNaN(created) ? '<unknown>' : formatHumanDuration(nowMs - created);
};

const jobStatus = (status: Record<string, unknown>, spec: Record<string, unknown>): string => {
  const holds = (type: string) =>
    list(status.conditions).some((c) => record(c).type === type && record(c).status === 'True');
  if (holds('Complete')) return 'Complete';
  if (holds('Failed')) return 'Failed';
  if (holds('FailureTarget')) return 'FailureTarget';
  if (holds('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (spec.suspend === true || holds('Suspended')) return 'Suspended';
  return 'Running';
};

const podStatus = (status: Record<string, unknown>): string => {
  let reason = String(status.reason ?? status.phase ?? 'Unknown');
  for (const c of list(status.containerStatuses)) {
    const state = record(record(c).state);
    const waiting = record(state.waiting);
    const terminated = record(state.terminated);
    if (typeof waiting.reason === 'string' && waiting.reason !== '') reason = waiting.reason;
    else if (typeof terminated.reason === 'string' && terminated.reason !== '') {
      reason = terminated.reason;
    }
  }
  return reason;
};

const printers: Readonly<Record<string, Printer>> = {
  '/pods': {
    columns: [
      nameColumn,
      column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'string', 'The aggregate status of the containers in this pod.'),
      column(
        'Restarts',
        'string',
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      ),
      ageColumn,
    ],
    cells(o, nowMs) {
      const status = record(o.status);
      const containers = list(record(o.spec).containers);
      const statuses = list(status.containerStatuses).map(record);
      const ready = statuses.filter((s) => s.ready === true).length;
      const restarts = statuses.reduce((sum, s) => sum + Number(s.restartCount ?? 0), 0);
      return [
        o.metadata.name ?? '',
        `${ready}/${containers.length}`,
        podStatus(status),
        String(restarts),
        age(o, nowMs),
      ];
    },
  },
  'batch/jobs': {
    columns: [
      nameColumn,
      column('Status', 'string', 'Status of the job.'),
      column(
        'Completions',
        'string',
        'The number of successfully completed pods out of the desired number.',
      ),
      column('Duration', 'string', 'Time required to complete the job.'),
      ageColumn,
    ],
    cells(o, nowMs) {
      const spec = record(o.spec);
      const status = record(o.status);
      const completions =
        spec.completions === undefined || spec.completions === null
          ? `${Number(status.succeeded ?? 0)}/1 of ${Number(spec.parallelism ?? 1)}`
          : `${Number(status.succeeded ?? 0)}/${String(spec.completions)}`;
      const start = Date.parse(String(status.startTime ?? ''));
      const end = Date.parse(String(status.completionTime ?? ''));
      const duration = Number.isNaN(start)
        ? ''
        : formatHumanDuration((Number.isNaN(end) ? nowMs : end) - start);
      return [o.metadata.name ?? '', jobStatus(status, spec), completions, duration, age(o, nowMs)];
    },
  },
  '/configmaps': {
    columns: [
      nameColumn,
      column('Data', 'integer', 'Data contains the configuration data.'),
      ageColumn,
    ],
    cells: (o, nowMs) => [
      o.metadata.name ?? '',
      Object.keys(record(o.data)).length + Object.keys(record(o.binaryData)).length,
      age(o, nowMs),
    ],
  },
  '/secrets': {
    columns: [
      nameColumn,
      column('Type', 'string', 'The type of secret'),
      column('Data', 'integer', 'Data contains the secret data.'),
      ageColumn,
    ],
    cells: (o, nowMs) => [
      o.metadata.name ?? '',
      String(o.type ?? 'Opaque'),
      Object.keys(record(o.data)).length,
      age(o, nowMs),
    ],
  },
  '/namespaces': {
    columns: [nameColumn, column('Status', 'string', 'The status of the namespace'), ageColumn],
    cells: (o, nowMs) => [
      o.metadata.name ?? '',
      String(record(o.status).phase ?? 'Active'),
      age(o, nowMs),
    ],
  },
};

const defaultPrinter: Printer = {
  columns: [nameColumn, ageColumn],
  cells: (o, nowMs) => [o.metadata.name ?? '', age(o, nowMs)],
};

/**
 * The Table a real server sends for `objects`. Rows carry the object as `includeObject` says:
 * `Metadata` (the default: a PartialObjectMetadata), `Object`, or `None`.
 */
export const toTable = (
  type: ResourceType,
  objects: readonly KubeObject[],
  options: {
    version: 'v1' | 'v1beta1';
    listMetadata?: Record<string, unknown>;
    includeObject?: string | null;
    nowMs?: number;
  },
): unknown => {
  const printer = printers[`${type.group}/${type.resource}`] ?? defaultPrinter;
  const nowMs = options.nowMs ?? Date.now();
  const apiVersion = `meta.k8s.io/${options.version}`;
  const include = options.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion,
    metadata: options.listMetadata ?? {},
    columnDefinitions: printer.columns,
    rows: objects.map((o) => ({
      cells: printer.cells(o, nowMs),
      ...(include === 'None'
        ? {}
        : {
            object:
              include === 'Object'
                ? {
                    ...o,
                    kind: type.kind,
                    apiVersion: type.group === '' ? type.version : `${type.group}/${type.version}`,
                  }
                : { kind: 'PartialObjectMetadata', apiVersion, metadata: o.metadata },
          }),
    })),
  };
};
