/**
 * The process host writes JSON lines only: log collectors parse each line. Node prints process
 * warnings as plain text on stderr (on Node 20 the AWS SDK's multi-line `NodeVersionSupportWarning`
 * at the first client, for one), so the host swaps Node's printer for one that logs each warning
 * through the worker's logger: same information, one JSON line.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export const logProcessWarningsAsJson = (
  logger: Logger,
  target: NodeJS.Process = process,
): void => {
  // Node's own printer is a 'warning' listener; without it, nothing reaches stderr unparsed.
  target.removeAllListeners('warning');
  target.on('warning', (warning: Error & { code?: string }) => {
    logger.warn('Node.js process warning', {
      warningName: warning.name,
      ...(warning.code ? { warningCode: warning.code } : {}),
      warning: warning.message.replace(/\s*\n\s*/g, ' '),
      nodeVersion: process.version,
    });
  });
};
