/**
 * The `workerName` of one GetActivityTask call: the configured worker name plus an id of that poll.
 * Step Functions records it in the execution history (`ActivityStarted`), the worker puts it on
 * every log line of the task it returned and on the Jobs the task creates, so one value leads from
 * a failed execution in the console to the worker's log lines and the Job. The task token never
 * leaves the worker; this id carries nothing secret.
 */
import { randomBytes } from 'node:crypto';

/** Step Functions' limit on `workerName` (GetActivityTask API reference: 1 to 80 characters). */
export const maxWorkerNameLength = 80;

/** Hex digits of a poll id: 48 random bits, so ids of distinct polls do not collide in practice. */
const pollIdLength = 12;

/** What one poll sends and what the task it returns carries. */
export interface PollWorkerName {
  /** `<worker name>/<poll id>`, at most 80 characters. */
  readonly workerName: string;
  /** Lowercase hex; also valid as a Kubernetes label value. */
  readonly pollId: string;
}

/**
 * A fresh name for one poll. The configured name is cut so the poll id always fits: the id is the
 * part that must survive, the name is there for people.
 */
export const makePollWorkerName = (
  baseName: string,
  random: (bytes: number) => Buffer = randomBytes,
): PollWorkerName => {
  const pollId = random(pollIdLength / 2).toString('hex');
  const base = baseName.slice(0, maxWorkerNameLength - pollIdLength - 1);
  return { workerName: `${base}/${pollId}`, pollId };
};
