/**
 * Test support: a local EKS control plane, the real SDK client pointed at it through our adapter,
 * and the 12 integrations built on that, with a quick poll interval.
 */
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  type EksControlPlane as LocalEksControlPlane,
  startEksControlPlane,
} from '../../../../../infra/local-stack/eks/server.ts';
import { localIdentities, localRegion } from '../../../../../infra/local-stack/identities.ts';
import {
  type EksControlPlane,
  makeEksClient,
  makeEksControlPlane,
} from '../../../../../lib/aws/eks-control-plane.ts';
import { TaskFailedError } from '../../../../../lib/errors.ts';
import { makeEksControlPlaneIntegrations } from '../../../../../lib/integrations/eks-control-plane/index.ts';
import {
  type Integration,
  TaskAbortedError,
  type TaskContext,
} from '../../../../../lib/integrations/types.ts';

/** Tests poll fast; the local control plane's transitions take `transitionMs`. */
export const testPollIntervalMs = 50;
/** Long enough for a few polls while a resource is CREATING/DELETING, short enough for CI. */
export const transitionMs = 250;

export interface LocalEks {
  localEks: LocalEksControlPlane;
  /** Our adapter over a real EKSClient signed as the admin identity. */
  eks: EksControlPlane;
  /** Runs the integration whose suffix is `activitySuffix`, bounded by `timeoutMs`. */
  run(
    activitySuffix: string,
    input: unknown,
    options?: { signal?: AbortSignal; eks?: EksControlPlane; timeoutMs?: number },
  ): Promise<unknown>;
  close(): Promise<void>;
}

export async function startLocalEks(): Promise<LocalEks> {
  const localEks = await startEksControlPlane({
    timings: {
      clusterCreatingMs: transitionMs,
      clusterDeletingMs: transitionMs,
      nodegroupCreatingMs: transitionMs,
      nodegroupDeletingMs: transitionMs,
      fargateProfileCreatingMs: transitionMs,
      fargateProfileDeletingMs: transitionMs,
    },
  });
  const client = makeEksClient({
    region: localRegion,
    endpoint: localEks.endpoint,
    credentials: {
      accessKeyId: localIdentities.admin.accessKeyId,
      secretAccessKey: localIdentities.admin.secretAccessKey,
    },
  });
  const eks = makeEksControlPlane(client);
  const logger = new Logger({ serviceName: 'eks-control-plane-test', logLevel: 'SILENT' });
  return {
    localEks,
    eks,
    async run(activitySuffix, input, options = {}) {
      const integrations = makeEksControlPlaneIntegrations({
        eks: options.eks ?? eks,
        pollIntervalMs: testPollIntervalMs,
      });
      const integration = findIntegration(integrations, activitySuffix);
      const context: TaskContext = {
        signal: options.signal ?? new AbortController().signal,
        logger,
        activityName: `test-${activitySuffix}`,
      };
      return withTimeout(integration.run(input, context), options.timeoutMs ?? 10_000);
    },
    async close() {
      client.destroy();
      await localEks.close();
    },
  };
}

export function findIntegration(integrations: Integration[], activitySuffix: string): Integration {
  const integration = integrations.find((i) => i.activitySuffix === activitySuffix);
  if (!integration) throw new Error(`no integration ${activitySuffix}`);
  return integration;
}

/** Rejects when `promise` has not settled after `timeoutMs`, so a hanging wait fails fast. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true, for at most `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `2025-01-31T12:00:00.000Z`, how outputs show timestamps. */
export const isIsoTimestamp = (value: unknown): boolean =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value);

/** An adapter whose `method` aborts `controller` (as a TaskTimedOut heartbeat would) once it returns. */
export function abortAfterFirstCall(
  eks: EksControlPlane,
  method: keyof EksControlPlane,
  controller: AbortController,
): EksControlPlane {
  const original = eks[method] as (request: unknown, signal?: AbortSignal) => Promise<unknown>;
  return {
    ...eks,
    [method]: async (request: unknown, signal?: AbortSignal) => {
      const response = await original(request, signal);
      controller.abort(new TaskAbortedError({ kind: 'abandoned', sfnError: 'TaskTimedOut' }));
      return response;
    },
  };
}

/** An assertion for `assert.rejects`: a TaskFailedError with this error name. */
export const failsWith =
  (errorName: string) =>
  (error: unknown): boolean => {
    assert.ok(error instanceof TaskFailedError, `expected a TaskFailedError, got ${String(error)}`);
    assert.equal(error.errorName, errorName, error.message);
    return true;
  };

/** An assertion for `assert.rejects`: the task was abandoned with TaskTimedOut. */
export const isAbandoned = (error: unknown): boolean => {
  assert.ok(error instanceof TaskAbortedError, `expected a TaskAbortedError, got ${String(error)}`);
  assert.deepEqual(error.abortCause, { kind: 'abandoned', sfnError: 'TaskTimedOut' });
  return true;
};
