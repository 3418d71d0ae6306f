import type { Logger } from '@aws-lambda-powertools/logger';
import type { TaskContext } from '../../../../../lib/integrations/types.ts';

/** Log lines a test can look at; nothing is printed. */
export interface RecordedLog {
  level: string;
  message: string;
  fields: unknown;
}

export const makeTaskContext = (
  signal: AbortSignal,
  activityName = 'test-eks-runJob-sync',
): TaskContext & { logs: RecordedLog[] } => {
  const logs: RecordedLog[] = [];
  const record =
    (level: string) =>
    (message: string, fields?: unknown): void => {
      logs.push({ level, message, fields });
    };
  const logger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  } as unknown as Logger;
  return { signal, logger, activityName, logs };
};
