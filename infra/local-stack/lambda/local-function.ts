/**
 * A local Lambda function: synchronous (RequestResponse) invocations served by a pool of
 * sandboxes. A free warm sandbox takes the next invocation; when every one is busy a new one
 * starts (a cold start), up to the reserved concurrency, past which the invocation is throttled
 * as Lambda throttles it. Around each invocation the log gets Lambda's START, END and REPORT lines.
 */
import { randomUUID } from 'node:crypto';
import {
  type LocalFunctionConfig,
  type ResolvedFunctionConfig,
  resolveFunctionConfig,
  sandboxEnvironment,
} from './function-config.ts';
import { type FunctionLogOptions, FunctionLogSink } from './function-logs.ts';
import { Sandbox, type SandboxLogLine, type SandboxOutcome } from './sandbox.ts';
import type { FunctionError } from './sandbox-protocol.ts';

/** An invocation's error as Lambda reports it; re-exported for callers of `invoke`. */
export type { FunctionError } from './sandbox-protocol.ts';

/** How an invocation ended, as the Lambda service would tell the caller. */
export type InvocationResult = {
  readonly requestId: string;
  /** Undefined when throttled: no sandbox ran it. */
  readonly sandboxId: number | undefined;
  readonly coldStart: boolean;
  readonly startedAtMs: number;
  readonly durationMs: number;
} & (
  | { readonly status: 'succeeded'; readonly payload: unknown }
  | {
      /**
       * `failed`: the handler threw or rejected, or the init phase failed; `timedOut`: the
       * deadline passed and the sandbox was killed; `crashed`: the sandbox process exited
       * mid-invocation (killed, out of memory, an uncaught exception); `throttled`: no sandbox
       * could be had within the reserved concurrency.
       */
      readonly status: 'failed' | 'timedOut' | 'crashed' | 'throttled';
      readonly error: FunctionError;
    }
);

/** One sandbox as tests see it. */
export interface SandboxInfo {
  readonly id: number;
  readonly pid: number | undefined;
  readonly busy: boolean;
  readonly invocations: number;
}

/** A function of the local Lambda service. */
export interface LocalLambdaFunction {
  readonly config: ResolvedFunctionConfig;
  /** Runs one invocation; never rejects. Aborting `signal` kills the sandbox running it. */
  invoke(event: unknown, options?: { signal?: AbortSignal }): Promise<InvocationResult>;
  /** Invocations running now. */
  busyCount(): number;
  /** The live sandboxes (warm or busy). */
  sandboxes(): SandboxInfo[];
  /** SIGKILLs a sandbox, as a crash or an out-of-memory would end it; false if none has that id. */
  killSandbox(sandboxId: number): boolean;
  /** SIGKILLs one sandbox that is running an invocation; the id, or undefined if none was busy. */
  crashOneBusySandbox(): number | undefined;
  /** Kills every sandbox and flushes the log file. Invocations still running end as crashed. */
  close(): Promise<void>;
}

const statusOf: Record<
  Exclude<SandboxOutcome['kind'], 'result'>,
  'failed' | 'timedOut' | 'crashed'
> = { error: 'failed', 'init-error': 'failed', timeout: 'timedOut', exit: 'crashed' };

/** Creates a function; sandboxes start on demand. Throws as CreateFunction would on bad input. */
export const createLocalFunction = (
  options: LocalFunctionConfig & { readonly logs?: FunctionLogOptions },
): LocalLambdaFunction => {
  const config = resolveFunctionConfig(options);
  const logs = new FunctionLogSink(options.logs);
  const log = (line: SandboxLogLine): void =>
    logs.write({ ...line, functionName: config.functionName, atMs: Date.now() });
  const sandboxes = new Map<number, Sandbox>();
  let nextSandboxId = 1;
  let closed = false;

  const takeSandbox = (): Sandbox | undefined => {
    for (const sandbox of sandboxes.values()) {
      if (!sandbox.alive && !sandbox.busy) sandboxes.delete(sandbox.id);
      else if (sandbox.alive && !sandbox.busy) return sandbox;
    }
    if (busyCount() >= config.reservedConcurrency) return undefined;
    const sandbox = Sandbox.start(nextSandboxId++, {
      functionName: config.functionName,
      moduleUrl: config.moduleUrl,
      exportName: config.exportName,
      memorySizeMb: config.memorySizeMb,
      env: sandboxEnvironment(config),
      cwd: config.taskRoot,
      initTimeoutMs: config.initTimeoutMs,
      freezeBetweenInvocations: config.freezeBetweenInvocations,
      log,
    });
    sandboxes.set(sandbox.id, sandbox);
    return sandbox;
  };

  const busyCount = (): number => [...sandboxes.values()].filter((s) => s.busy).length;

  const platform = (sandboxId: number, requestId: string, line: string): void =>
    log({ sandboxId, requestId, stream: 'platform', line });

  const invoke = async (
    event: unknown,
    invokeOptions: { signal?: AbortSignal } = {},
  ): Promise<InvocationResult> => {
    const requestId = randomUUID();
    const startedAtMs = Date.now();
    const sandbox = closed ? undefined : takeSandbox();
    if (!sandbox) {
      const errorMessage = closed ? 'The function is closed.' : 'Rate Exceeded.';
      return {
        requestId,
        sandboxId: undefined,
        coldStart: false,
        startedAtMs,
        durationMs: 0,
        status: 'throttled',
        error: { errorType: 'TooManyRequestsException', errorMessage },
      };
    }
    const coldStart = sandbox.invocations === 0;
    const onAbort = (): void => sandbox.kill();
    invokeOptions.signal?.addEventListener('abort', onAbort, { once: true });
    if (invokeOptions.signal?.aborted) sandbox.kill();
    const pending = sandbox.invoke(
      { requestId, invokedFunctionArn: config.functionArn, event },
      config.timeoutMs,
    );
    // START once the sandbox has it; on a cold start Lambda logs INIT first, then START.
    platform(sandbox.id, requestId, `START RequestId: ${requestId} Version: $LATEST`);
    const outcome = await pending;
    invokeOptions.signal?.removeEventListener('abort', onAbort);
    const durationMs = outcome.durationMs ?? 0;
    reportLines(sandbox, requestId, outcome, durationMs, coldStart);
    if (!sandbox.alive) sandboxes.delete(sandbox.id);
    const base = { requestId, sandboxId: sandbox.id, coldStart, startedAtMs, durationMs };
    if (outcome.kind === 'result') {
      return { ...base, status: 'succeeded', payload: JSON.parse(outcome.payloadJson) };
    }
    return { ...base, status: statusOf[outcome.kind], error: outcome.error };
  };

  const reportLines = (
    sandbox: Sandbox,
    requestId: string,
    outcome: SandboxOutcome,
    durationMs: number,
    coldStart: boolean,
  ): void => {
    platform(sandbox.id, requestId, `END RequestId: ${requestId}`);
    const fields = [
      `REPORT RequestId: ${requestId}`,
      `Duration: ${durationMs.toFixed(2)} ms`,
      `Billed Duration: ${Math.ceil(durationMs)} ms`,
      `Memory Size: ${config.memorySizeMb} MB`,
    ];
    if ('maxMemoryUsedMb' in outcome) fields.push(`Max Memory Used: ${outcome.maxMemoryUsedMb} MB`);
    if (coldStart && sandbox.initDurationMs !== undefined) {
      fields.push(`Init Duration: ${sandbox.initDurationMs.toFixed(2)} ms`);
    }
    if (outcome.kind === 'timeout') fields.push('Status: timeout');
    if (outcome.kind === 'exit') fields.push('Status: error\tError Type: Runtime.ExitError');
    platform(sandbox.id, requestId, fields.join('\t'));
  };

  const killSandbox = (sandboxId: number): boolean => {
    const sandbox = sandboxes.get(sandboxId);
    if (!sandbox?.alive) return false;
    sandbox.kill();
    return true;
  };

  return {
    config,
    invoke,
    busyCount,
    sandboxes: () =>
      [...sandboxes.values()]
        .filter((sandbox) => sandbox.alive)
        .map((sandbox) => ({
          id: sandbox.id,
          pid: sandbox.pid,
          busy: sandbox.busy,
          invocations: sandbox.invocations,
        })),
    killSandbox,
    crashOneBusySandbox: () => {
      const busy = [...sandboxes.values()].find((sandbox) => sandbox.busy && sandbox.alive);
      if (!busy) return undefined;
      busy.kill();
      return busy.id;
    },
    close: async () => {
      closed = true;
      const all = [...sandboxes.values()];
      for (const sandbox of all) sandbox.kill();
      await Promise.all(all.map((sandbox) => sandbox.exited()));
      sandboxes.clear();
      await logs.close();
    },
  };
};
