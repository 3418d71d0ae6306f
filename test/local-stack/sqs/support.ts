import { SQSClient } from '@aws-sdk/client-sqs';
import { type LocalSqs, type SqsOptions, startSqs } from '../../../infra/local-stack/sqs/server.ts';
import { adminSdkConfig } from '../../support/local-aws.ts';

/** One SQS second lasts this long in tests, so delays and visibility expiry take milliseconds. */
export const testSecondMs = 100;

export const startTestSqs = (options: SqsOptions = {}): Promise<LocalSqs> =>
  startSqs({ secondMs: testSecondMs, ...options });

/** The real SDK client, signing as the admin identity; no retries so errors surface as sent. */
export const makeClient = (endpoint: string): SQSClient => new SQSClient(adminSdkConfig(endpoint));

let sequence = 0;
/** Queue names unique within a test run, so tests sharing a server never collide. */
export const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${++sequence}`;

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Asserts a promise rejects with an SDK exception of that name; returns it for more checks. */
export const rejectsWith = async (
  promise: Promise<unknown>,
  name: string,
): Promise<Error & Record<string, unknown>> => {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & Record<string, unknown>;
    if (e.name !== name) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
};
