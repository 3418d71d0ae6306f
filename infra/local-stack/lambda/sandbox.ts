/**
 * One execution environment of a local function: a Node.js child process running
 * `sandbox-entry.ts` under tsx, reused across invocations one at a time, as Lambda reuses a warm
 * sandbox. The parent enforces what Lambda enforces from outside the runtime: the deadline (a
 * sandbox past it is killed, as Lambda ends a timed-out environment), the heap size that follows
 * the memory setting, and the freeze between invocations (SIGSTOP/SIGCONT), so background timers
 * and sockets of a handler stall between invocations as they do on Lambda.
 */
import type { ChildProcess } from 'node:child_process';
import { type FunctionLogLine, forEachLine } from './function-logs.ts';
import { spawnSandboxProcess } from './sandbox-process.ts';
import { type FunctionError, type InvokeRequest, isSandboxReply } from './sandbox-protocol.ts';

/** What every sandbox of one function is started with. */
export interface SandboxSpec {
  readonly functionName: string;
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly memorySizeMb: number;
  /** The child's whole environment: nothing of the parent's leaks in, as on Lambda. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly initTimeoutMs: number;
  readonly freezeBetweenInvocations: boolean;
  readonly log: (line: SandboxLogLine) => void;
}

/** A log line as a sandbox knows it; the function adds its name and the time. */
export type SandboxLogLine = Omit<FunctionLogLine, 'functionName' | 'atMs'>;

/** How one invocation in a sandbox ended. */
export type SandboxOutcome = (
  | { readonly kind: 'result'; readonly payloadJson: string; readonly maxMemoryUsedMb: number }
  | { readonly kind: 'error'; readonly error: FunctionError; readonly maxMemoryUsedMb: number }
  | { readonly kind: 'init-error' | 'timeout' | 'exit'; readonly error: FunctionError }
) & {
  /** From the request's sending to the end, as Lambda's REPORT counts it: init excluded. */
  readonly durationMs?: number;
};

/** One warm-able sandbox. Create with `Sandbox.start`; `invoke` one request at a time. */
export class Sandbox {
  readonly id: number;
  readonly #child: ChildProcess;
  readonly #spec: SandboxSpec;
  readonly #ready: Promise<FunctionError | undefined>;
  #current: { requestId: string; settle: (outcome: SandboxOutcome) => void } | undefined;
  #exit: string | undefined;
  #frozen = false;
  #killed = false;
  /** Invocations this sandbox has started; 0 means its next one is a cold start. */
  invocations = 0;
  initDurationMs: number | undefined;

  private constructor(id: number, spec: SandboxSpec) {
    this.id = id;
    this.#spec = spec;
    this.#child = spawnSandboxProcess(spec);
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = this.#child[stream];
      if (readable) {
        forEachLine(readable, (line) =>
          spec.log({ sandboxId: id, requestId: this.#current?.requestId, stream, line }),
        );
      }
    }
    this.#child.on('message', (message: unknown) => this.#onReply(message));
    // Before the init listener, so an exit during init is described when that one runs.
    this.#child.on('exit', (code, signal) => this.#onExit(code, signal));
    // A failed spawn emits `error` and maybe no `exit`; either way the sandbox is gone.
    this.#child.on('error', (error) => this.#onExit(null, null, error.message));
    this.#ready = this.#awaitInit();
  }

  /** Starts a sandbox; its init phase (importing the handler module) begins at once. */
  static start(id: number, spec: SandboxSpec): Sandbox {
    return new Sandbox(id, spec);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }
  get busy(): boolean {
    return this.#current !== undefined;
  }
  /** False once killed, even before the process is reaped: it must take no more invocations. */
  get alive(): boolean {
    return this.#exit === undefined && !this.#killed;
  }

  /**
   * Runs one invocation: waits for the init phase, then gives the handler `timeoutMs` from the
   * moment the request is sent. Never rejects: every end is an outcome.
   */
  async invoke(
    request: Omit<InvokeRequest, 'type' | 'deadlineEpochMs'>,
    timeoutMs: number,
  ): Promise<SandboxOutcome> {
    if (this.#current) throw new Error(`sandbox ${this.id} is already running an invocation`);
    this.invocations += 1;
    let settle!: (outcome: SandboxOutcome) => void;
    const outcome = new Promise<SandboxOutcome>((resolve) => {
      settle = resolve;
    });
    this.#current = { requestId: request.requestId, settle };
    const initError = await this.#ready;
    if (initError) {
      this.kill();
      // A sandbox that died or hung while importing is a crash or a timeout, not a handler error.
      const kind =
        initError.errorType === 'Runtime.ExitError'
          ? 'exit'
          : initError.errorType === 'Sandbox.Timedout'
            ? 'timeout'
            : 'init-error';
      this.#finish({ kind, error: initError });
      return outcome;
    }
    if (!this.alive) {
      // It died between invocations (or during this await): nothing ran.
      this.#finish(this.#exitOutcome(request.requestId));
      return outcome;
    }
    this.#thaw();
    const deadlineEpochMs = Date.now() + timeoutMs;
    const timer = setTimeout(() => {
      const seconds = (timeoutMs / 1000).toFixed(2);
      this.#finish({
        kind: 'timeout',
        error: {
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${request.requestId} Error: Task timed out after ${seconds} seconds`,
        },
      });
      this.kill();
    }, timeoutMs);
    const sentAt = performance.now();
    this.#child.send({ type: 'invoke', ...request, deadlineEpochMs } satisfies InvokeRequest);
    const ended = await outcome;
    clearTimeout(timer);
    if (ended.kind === 'result' || ended.kind === 'error') this.#freeze();
    return { ...ended, durationMs: performance.now() - sentAt };
  }

  /** Ends the sandbox at once (SIGKILL), as Lambda does after a timeout or an out-of-memory. */
  kill(): void {
    if (!this.alive) return;
    this.#killed = true;
    this.#child.kill('SIGKILL');
  }

  /** Resolves when the process has exited (after `kill`, or on its own). */
  exited(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  #awaitInit(): Promise<FunctionError | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve({
          errorType: 'Sandbox.Timedout',
          errorMessage: `Init timed out after ${(this.#spec.initTimeoutMs / 1000).toFixed(2)} seconds`,
        });
      }, this.#spec.initTimeoutMs);
      const onReply = (message: unknown): void => {
        if (!isSandboxReply(message)) return;
        if (message.type !== 'ready' && message.type !== 'init-error') return;
        clearTimeout(timer);
        this.#child.off('message', onReply);
        if (message.type === 'ready') this.initDurationMs = message.initDurationMs;
        resolve(message.type === 'init-error' ? message.error : undefined);
      };
      this.#child.on('message', onReply);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        resolve({ errorType: 'Runtime.ExitError', errorMessage: `Init failed: ${this.#exit}` });
      });
    });
  }

  #onReply(message: unknown): void {
    if (!isSandboxReply(message)) return;
    if (message.type !== 'result' && message.type !== 'error') return;
    if (message.requestId !== this.#current?.requestId) return;
    this.#finish(
      message.type === 'result'
        ? {
            kind: 'result',
            payloadJson: message.payloadJson,
            maxMemoryUsedMb: message.maxMemoryUsedMb,
          }
        : { kind: 'error', error: message.error, maxMemoryUsedMb: message.maxMemoryUsedMb },
    );
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.#exit !== undefined) return;
    // Lambda's wording for a runtime that died: "signal: killed", "exit status 1".
    this.#exit =
      spawnError ??
      (signal === 'SIGKILL'
        ? 'signal: killed'
        : signal
          ? `signal: ${signal}`
          : `exit status ${code}`);
    const requestId = this.#current?.requestId;
    if (requestId !== undefined) this.#finish(this.#exitOutcome(requestId));
  }

  #exitOutcome(requestId: string): SandboxOutcome {
    return {
      kind: 'exit',
      error: {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${this.#exit}`,
      },
    };
  }

  #finish(outcome: SandboxOutcome): void {
    const current = this.#current;
    this.#current = undefined;
    current?.settle(outcome);
  }

  #freeze(): void {
    if (!this.#spec.freezeBetweenInvocations || !this.alive || this.#frozen) return;
    this.#frozen = this.#child.kill('SIGSTOP');
  }

  #thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    this.#child.kill('SIGCONT');
  }
}
