/**
 * The worker's logger: Powertools for AWS Lambda's structured JSON logger, usable outside Lambda
 * too. Conventions every caller keeps:
 * - messages are stable sentences ("Task answered"); details go in structured fields;
 * - a task is identified by `taskId` (a hash of its token, see `makeTaskId`), never by the token;
 * - never log a task token, a bearer token, credentials or a request/response body.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import type { LogLevelName } from './config.ts';

/** The service name on every log line. */
export const serviceName = 'eks-activity-worker';

/** Options of {@link makeLogger}. */
export interface MakeLoggerOptions {
  /** @default 'INFO' */
  readonly logLevel?: LogLevelName;
  /** Keys added to every line, e.g. `{ host: 'process' }`. */
  readonly persistentKeys?: Record<string, string | number | boolean>;
}

/**
 * Powertools' Logger whose children report the parent's `cold_start` of the current invocation.
 * A plain child computes its own flag when it copies the Lambda context, and a new Logger always
 * counts as cold: every task logger of every invocation would say `cold_start: true`.
 */
class WorkerLogger extends Logger {
  /** Whether the invocation whose context was added last was a cold start. */
  #invocationColdStart = false;

  override addContext(context: Parameters<Logger['addContext']>[0]): void {
    const wasCold = this.coldStart;
    super.addContext(context);
    // getColdStart(), called by addContext, turns the flag off when it reports a cold start.
    this.#invocationColdStart = wasCold && !this.coldStart;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    const child = new WorkerLogger(options);
    // Every Powertools Logger makes its own node:console Console (two dozen bound methods, about
    // 8 KiB); a child per task made that 40 MiB at 5,000 waiting tasks. Children write through
    // their parent's: the same streams, the same behaviour. (`console` is TypeScript-private.)
    (child as unknown as { console: unknown }).console = (
      this as unknown as { console: unknown }
    ).console;
    // createChild adds the parent's Lambda context to the child next, reading this flag.
    child.coldStart = this.#invocationColdStart;
    return child;
  }
}

/** Creates the root logger; children (`logger.createChild`) add per-task keys. */
export const makeLogger = (options: MakeLoggerOptions = {}): Logger =>
  new WorkerLogger({
    serviceName,
    logLevel: options.logLevel ?? 'INFO',
    ...(options.persistentKeys ? { persistentKeys: options.persistentKeys } : {}),
  });
