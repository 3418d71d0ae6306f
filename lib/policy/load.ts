/**
 * Reading the policy settings for lib/config.ts (which owns the environment): the inline text of
 * `EKS_WORKER_POLICY` or the file of `EKS_WORKER_POLICY_FILE`, each problem reported separately.
 */
import { readFileSync } from 'node:fs';
import { PolicyDocumentError, parsePolicyText, type WorkerPolicy } from './document.ts';

export type PolicyRead =
  | { readonly ok: true; readonly value: WorkerPolicy }
  | { readonly ok: false; readonly problem: readonly string[] };

const read = (text: string, source: string): PolicyRead => {
  try {
    return { ok: true, value: parsePolicyText(text, source) };
  } catch (error) {
    if (error instanceof PolicyDocumentError) return { ok: false, problem: error.problems };
    throw error;
  }
};

/** `EKS_WORKER_POLICY`: the policy inline, YAML or JSON. */
export const readInlinePolicy = (text: string): PolicyRead => read(text, 'EKS_WORKER_POLICY');

/** `EKS_WORKER_POLICY_FILE`: problems come prefixed with the variable and the path. */
export const readPolicyFile = (path: string): PolicyRead => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return {
      ok: false,
      problem: [`EKS_WORKER_POLICY_FILE cannot be read: ${(error as Error).message}`],
    };
  }
  const parsed = read(text, `EKS_WORKER_POLICY_FILE=${path}`);
  return parsed.ok
    ? parsed
    : {
        ok: false,
        problem: parsed.problem.map((problem) => `EKS_WORKER_POLICY_FILE (${path}) ${problem}`),
      };
};
