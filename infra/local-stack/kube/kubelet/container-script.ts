/**
 * What a simulated container does, chosen by whoever writes the pod (a test, a state machine) via
 * the pod annotation `local.eks-activity-worker/script`. The annotation holds JSON: one script for
 * every container, or a map from container name to script.
 */
import { parseInt64Json } from '../int64-json.ts';

/** The pod (template) annotation holding the script JSON. */
export const scriptAnnotation = 'local.eks-activity-worker/script';

/** What a container logs. */
export type ScriptLog =
  /** These lines, in order. */
  | { kind: 'lines'; lines: readonly string[] }
  /** `bytes` of deterministic lines of `lineBytes` each (newline included), made on the fly. */
  | { kind: 'generated'; bytes: number; lineBytes: number }
  /** One line: this value as compact JSON. */
  | { kind: 'json'; value: unknown };

export interface ContainerScript {
  /** How long the container runs before it exits. */
  durationMs: number;
  exitCode: number;
  /** The termination reason; by default `Completed` for 0, `Error` otherwise. */
  reason?: string;
  /** The termination message (`state.terminated.message`). */
  message?: string;
  /** The image cannot be pulled: the container never starts (ErrImagePull, then ImagePullBackOff). */
  imagePullError: boolean;
  log: ScriptLog;
  /** The first N attempts (across a Job's pods, or restarts in one pod) fail with exit code 1. */
  failAttempts: number;
}

/** Defaults a cluster applies to scripts (and to containers without any script). */
export interface ScriptDefaults {
  /** @default 100 */
  durationMs: number;
}

const defaultLineBytes = 100;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const scriptKeys = new Set([
  'durationMs',
  'exitCode',
  'reason',
  'message',
  'imagePullError',
  'log',
  'failAttempts',
]);

/** Whether a JSON object looks like one script (rather than a map by container name). */
const looksLikeScript = (value: Record<string, unknown>): boolean =>
  Object.keys(value).some((key) => scriptKeys.has(key));

const toNonNegativeInteger = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;

const toScriptLog = (value: unknown, containerName: string): ScriptLog => {
  if (isRecord(value)) {
    if (Array.isArray(value.lines)) {
      return { kind: 'lines', lines: value.lines.map((line) => String(line)) };
    }
    if (typeof value.bytes === 'number') {
      return {
        kind: 'generated',
        bytes: toNonNegativeInteger(value.bytes, 0),
        lineBytes: Math.max(1, toNonNegativeInteger(value.lineBytes, defaultLineBytes)),
      };
    }
    if ('json' in value) return { kind: 'json', value: value.json };
  }
  return {
    kind: 'lines',
    lines: [`starting ${containerName}`, `${containerName} finished`],
  };
};

const toScript = (
  value: Record<string, unknown>,
  containerName: string,
  defaults: ScriptDefaults,
): ContainerScript => {
  const script: ContainerScript = {
    durationMs: toNonNegativeInteger(value.durationMs, defaults.durationMs),
    exitCode: toNonNegativeInteger(value.exitCode, 0),
    imagePullError: value.imagePullError === true,
    log: toScriptLog(value.log, containerName),
    failAttempts: toNonNegativeInteger(value.failAttempts, 0),
  };
  if (typeof value.reason === 'string') script.reason = value.reason;
  if (typeof value.message === 'string') script.message = value.message;
  return script;
};

/**
 * The script of one container of a pod. A missing or unreadable annotation gives the default
 * script (succeed after `defaults.durationMs` with a two-line log): a cluster must run any pod.
 */
export const readContainerScript = (
  annotations: Readonly<Record<string, string>> | undefined,
  containerName: string,
  defaults: ScriptDefaults,
): ContainerScript => {
  const raw = annotations?.[scriptAnnotation];
  let parsed: unknown;
  if (raw !== undefined) {
    try {
      parsed = parseInt64Json(raw);
    } catch {
      parsed = undefined;
    }
  }
  if (isRecord(parsed)) {
    if (looksLikeScript(parsed)) return toScript(parsed, containerName, defaults);
    const own = parsed[containerName];
    if (isRecord(own)) return toScript(own, containerName, defaults);
  }
  return toScript({}, containerName, defaults);
};

/** The termination reason a kubelet reports for an exit. */
export const toTerminationReason = (exitCode: number, scriptedReason?: string): string =>
  scriptedReason ?? (exitCode === 0 ? 'Completed' : 'Error');
