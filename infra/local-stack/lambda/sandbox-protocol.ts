/**
 * The messages between the local Lambda service and one sandbox (a child process) over the IPC
 * channel. Kept in one file so the parent and the child cannot drift apart.
 *
 * Both directions carry JSON only: the event goes in as Lambda would deliver it (parsed JSON) and
 * the result comes back as the JSON text Lambda would serialize, so a handler returning a Date or
 * `undefined` is seen by the caller exactly as Lambda's caller would see it.
 */

/** An error as Lambda reports it to the caller (`errorType`, `errorMessage`). */
export interface FunctionError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace?: readonly string[];
}

/** Parent to child: run one invocation. The child never runs two at once. */
export interface InvokeRequest {
  readonly type: 'invoke';
  readonly requestId: string;
  readonly invokedFunctionArn: string;
  readonly event: unknown;
  /** Wall-clock deadline (`Date.now()` scale) that `getRemainingTimeInMillis` counts down to. */
  readonly deadlineEpochMs: number;
}

/** Child to parent. */
export type SandboxReply =
  /** The handler module is imported: the init phase is over. */
  | { readonly type: 'ready'; readonly initDurationMs: number }
  /** Importing the module failed or the export is not a function; the sandbox is unusable. */
  | { readonly type: 'init-error'; readonly error: FunctionError }
  | {
      readonly type: 'result';
      readonly requestId: string;
      /** `JSON.stringify` of what the handler resolved to; `null` for `undefined`. */
      readonly payloadJson: string;
      readonly maxMemoryUsedMb: number;
    }
  | {
      readonly type: 'error';
      readonly requestId: string;
      readonly error: FunctionError;
      readonly maxMemoryUsedMb: number;
    };

/** Narrows what arrives on the IPC channel; anything else is a protocol bug worth failing on. */
export const isSandboxReply = (value: unknown): value is SandboxReply =>
  typeof value === 'object' &&
  value !== null &&
  ['ready', 'init-error', 'result', 'error'].includes((value as { type?: unknown }).type as string);

/** The error Lambda reports for anything a handler throws or rejects with. */
export const toFunctionError = (thrown: unknown): FunctionError => {
  if (thrown instanceof Error) {
    return {
      errorType: thrown.name || 'Error',
      errorMessage: thrown.message,
      stackTrace: (thrown.stack ?? '').split('\n').slice(1, 20),
    };
  }
  // Lambda's Node runtime reports a thrown non-Error as a string-valued error of this type.
  return { errorType: 'Error', errorMessage: String(thrown) };
};
