/**
 * The worker's logger: Powertools for AWS Lambda's structured JSON logger, usable outside Lambda
 * too. Conventions every caller keeps:
 * - messages are stable sentences ("Task answered"); details go in structured fields;
 * - a task is identified by `taskId` (a hash of its token, see `makeTaskId`), never by the token;
 * - never log a task token, a bearer token, credentials or a request/response body.
 */
import { Logger } from '@aws-lambda-powertools/logger';
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

/** Creates the root logger; children (`logger.createChild`) add per-task keys. */
export const makeLogger = (options: MakeLoggerOptions = {}): Logger =>
  new Logger({
    serviceName,
    logLevel: options.logLevel ?? 'INFO',
    ...(options.persistentKeys ? { persistentKeys: options.persistentKeys } : {}),
  });
