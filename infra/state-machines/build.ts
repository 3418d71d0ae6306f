/**
 * Rewrites the seed's example state machines (native `arn:aws:states:::eks:*` resources) for the
 * worker's activities and writes them to `infra/state-machines/*.asl.json`.
 *
 * Each native Task `Resource` becomes a placeholder such as `${ActivityArn_eks_runJob_sync}`, to be
 * filled by CloudFormation's `DefinitionSubstitutions` (or `AWS::StepFunctions::StateMachine`'s
 * `DefinitionSubstitutions` in serverless.yml) with the ARN of the stage's activity; the
 * `ActivityArn...` stack outputs hold those ARNs. `.sync` states get `HeartbeatSeconds` unless they
 * already set one: without it, a worker that dies mid-task leaves the state waiting until its
 * `TimeoutSeconds` (a year by default), whereas the native integration is never "lost".
 *
 * Run: `npx tsx infra/state-machines/build.ts [sourceDir] [outDir]`.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  activitySuffixForNativeResource,
  mapStates,
  toActivityDefinition,
} from '../../lib/integrations/native-resources.ts';

/**
 * Seconds without a heartbeat after which Step Functions fails a `.sync` activity task with
 * `States.HeartbeatTimeout`. The worker heartbeats every 20 s by default
 * (`EKS_WORKER_HEARTBEAT_INTERVAL_MS`), so 60 s tolerates two lost heartbeats; it must also
 * exceed the Lambda hand-off's re-queue delay plus the SQS batching window.
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

/** Where the seed examples are read from by default (the project's copy). */
export const defaultSourceDir = resolve(here, '../../test/fixtures/seed-examples');
/** Where the rewritten definitions are written by default (this folder). */
export const defaultOutDir = here;

/** Every `*.asl.json` of `sourceDir`, rewritten, by file name (sorted). */
export const buildStateMachines = (sourceDir = defaultSourceDir): Map<string, Machine> =>
  new Map(
    readdirSync(sourceDir)
      .filter((file) => file.endsWith('.asl.json'))
      .sort()
      .map((file) => {
        const native = JSON.parse(readFileSync(join(sourceDir, file), 'utf8')) as Machine;
        return [file, toActivityStateMachine(native)];
      }),
  );

/** The file text written for a definition (stable: 2-space JSON and a final newline). */
export const formatDefinition = (definition: unknown): string =>
  `${JSON.stringify(definition, null, 2)}\n`;

/** Writes every rewritten definition to `outDir`; returns the written file names. */
export const writeStateMachines = (
  sourceDir = defaultSourceDir,
  outDir = defaultOutDir,
): string[] => {
  const built = buildStateMachines(sourceDir);
  for (const [file, definition] of built) {
    writeFileSync(join(outDir, file), formatDefinition(definition));
  }
  return [...built.keys()];
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [sourceDir, outDir] = process.argv.slice(2);
  const written = writeStateMachines(sourceDir ?? defaultSourceDir, outDir ?? defaultOutDir);
  console.log(`wrote ${written.length} state machines: ${written.join(', ')}`);
}
