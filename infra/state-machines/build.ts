/**
 * Rewrites state machine definitions that use the native `arn:aws:states:::eks:*` resources for the
 * worker's activities; the seed's examples, rewritten, are this folder's `*.asl.json`.
 *
 * Each native Task `Resource` becomes a placeholder such as `${ActivityArn_eks_runJob_sync}`, to be
 * filled by CloudFormation's `DefinitionSubstitutions` (or `AWS::StepFunctions::StateMachine`'s
 * `DefinitionSubstitutions` in serverless.yml) with the ARN of the stage's activity; the
 * stack's `Activity...Arn` outputs hold those ARNs (stack-outputs.ts reads them). `.sync` states get `HeartbeatSeconds` unless they
 * already set one: without it, a worker that dies mid-task leaves the state waiting until its
 * `TimeoutSeconds` (a year by default), whereas the native integration is never "lost".
 *
 * The command line (`npm run state-machines`) is cli.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  activitySuffixForNativeResource,
  mapStates,
  toActivityDefinition,
} from './native-resources.ts';

/**
 * Seconds without a heartbeat after which Step Functions fails a `.sync` activity task with
 * `States.HeartbeatTimeout`. The worker heartbeats every 20 s by default
 * (`EKS_WORKER_HEARTBEAT_INTERVAL_MS`), and a wait whose carrier died is taken over within the
 * 30 s lease (`EKS_WORKER_LEASE_SECONDS`): at most about 51 s without a heartbeat, under 60.
 */
export const syncHeartbeatSeconds = 60;

/** `eks-runJob-sync` -> `ActivityArn_eks_runJob_sync` (a `DefinitionSubstitutions` key). */
export const toSubstitutionKey = (activitySuffix: string): string =>
  `ActivityArn_${activitySuffix.replaceAll('-', '_')}`;

/** `eks-runJob-sync` -> `${ActivityArn_eks_runJob_sync}`. */
export const toPlaceholder = (activitySuffix: string): string =>
  `\${${toSubstitutionKey(activitySuffix)}}`;

type StateMap = Record<string, Record<string, unknown>>;
interface Machine {
  States?: StateMap;
  [key: string]: unknown;
}

const addSyncHeartbeats = (machine: Machine): Machine =>
  mapStates(machine, (state) => {
    const suffix =
      typeof state.Resource === 'string'
        ? activitySuffixForNativeResource(state.Resource)
        : undefined;
    const wantsHeartbeat =
      suffix?.endsWith('-sync') &&
      state.HeartbeatSeconds === undefined &&
      state.HeartbeatSecondsPath === undefined;
    return wantsHeartbeat ? { ...state, HeartbeatSeconds: syncHeartbeatSeconds } : state;
  });

/**
 * One native definition rewritten for the activities: native EKS resources become placeholders
 * and `.sync` states get {@link syncHeartbeatSeconds}. Everything else is kept as it is.
 */
export const toActivityStateMachine = (native: Machine): Machine =>
  // Heartbeats first: they are decided from the native resource, which the rewrite replaces.
  toActivityDefinition(addSyncHeartbeats(native), toPlaceholder);

/** The `DefinitionSubstitutions` keys a rewritten definition uses, sorted. */
export const listSubstitutionKeys = (definition: unknown): string[] => {
  const keys = new Set<string>();
  JSON.stringify(definition, (key, value) => {
    if (key === 'Resource' && typeof value === 'string') {
      const match = /^\$\{(ActivityArn_[A-Za-z_]+)\}$/.exec(value);
      if (match?.[1]) keys.add(match[1]);
    }
    return value;
  });
  return [...keys].sort();
};

/** Fills the placeholders as CloudFormation's `DefinitionSubstitutions` would. */
export const substitute = <T>(definition: T, values: Readonly<Record<string, string>>): T =>
  JSON.parse(
    JSON.stringify(definition).replace(/\$\{(ActivityArn_[A-Za-z_]+)\}/g, (whole, key: string) => {
      const value = values[key];
      if (value === undefined) throw new Error(`no substitution for ${whole}`);
      return value;
    }),
  ) as T;

const here = dirname(fileURLToPath(import.meta.url));

/** The seed examples, native (the project's copy): the source of this folder's definitions. */
export const defaultSourceDir = resolve(here, '../../test/fixtures/seed-examples');
/** This folder, where the seed examples rewritten for the activities are committed. */
export const defaultOutDir = here;

/** The file formats a definition may be written in, by file name. */
export type DefinitionFormat = 'json' | 'yaml';
const definitionFilePattern = /\.(json|ya?ml)$/i;

/** `json` or `yaml` from the file name; undefined for anything else. */
export const definitionFormatOf = (file: string): DefinitionFormat | undefined => {
  const extension = definitionFilePattern.exec(file)?.[1]?.toLowerCase();
  if (extension === undefined) return undefined;
  return extension === 'json' ? 'json' : 'yaml';
};

/** A definition file's text parsed by its format (YAML also reads JSON). */
export const parseDefinition = (text: string, format: DefinitionFormat): Machine =>
  (format === 'json' ? JSON.parse(text) : parseYaml(text)) as Machine;

/** The file text written for a definition: 2-space JSON, or YAML, and a final newline. */
export const formatDefinition = (definition: unknown, format: DefinitionFormat = 'json'): string =>
  format === 'json' ? `${JSON.stringify(definition, null, 2)}\n` : stringifyYaml(definition);

/** The definition files of a folder (`.json`, `.yaml`, `.yml`), sorted by name. */
export const listDefinitionFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((file) => definitionFilePattern.test(file))
    .sort();

/** Every definition of `sourceDir`, rewritten, by file name (sorted). */
export const buildStateMachines = (sourceDir = defaultSourceDir): Map<string, Machine> =>
  new Map(
    listDefinitionFiles(sourceDir).map((file) => {
      const format = definitionFormatOf(file) ?? 'json';
      const native = parseDefinition(readFileSync(join(sourceDir, file), 'utf8'), format);
      return [file, toActivityStateMachine(native)];
    }),
  );
