import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EksServiceError } from '../../../lib/aws/eks-control-plane.ts';
import { KubeConnectionError, KubeStatusError, kubeStatusOf } from '../../../lib/errors.ts';
import {
  isConnectFailureCode,
  isConnectionResetCode,
  isTransientError,
} from '../../../lib/retry/transient.ts';

const withCode = (code: string) => Object.assign(new Error(code), { code });
const sdkError = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

describe('isTransientError', () => {
  test('429 and 5xx answers are transient, other 4xx are not', () => {
    assert.equal(isTransientError(new KubeStatusError(429, 'Too Many Requests', undefined)), true);
    assert.equal(
      isTransientError(new KubeStatusError(503, 'Service Unavailable', undefined)),
      true,
    );
    assert.equal(isTransientError(new KubeStatusError(403, 'Forbidden', undefined)), false);
    assert.equal(isTransientError(sdkError('InternalFailure', 500)), true);
    assert.equal(isTransientError(sdkError('AccessDeniedException', 400)), false);
  });

  test('throttling names are transient whatever their status', () => {
    for (const name of ['ThrottlingException', 'KmsThrottlingException', 'RequestLimitExceeded']) {
      assert.equal(isTransientError(sdkError(name, 400)), true, name);
    }
  });

  test('an EKS quota (ResourceLimitExceededException) is not throttling', () => {
    const quota = new EksServiceError({
      exceptionName: 'ResourceLimitExceededException',
      message: 'quota',
      statusCode: 400,
    });
    assert.equal(isTransientError(quota), false);
  });

  test('no answer at all is transient, unless TLS failed', () => {
    assert.equal(isTransientError(withCode('ECONNRESET')), true);
    assert.equal(isTransientError(withCode('ENOTFOUND')), true);
    assert.equal(isTransientError(new Error('unknown shape')), true);
    assert.equal(isTransientError(withCode('ERR_TLS_CERT_ALTNAME_INVALID')), false);
    assert.equal(isTransientError(withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), false);
    assert.equal(
      isTransientError(new KubeConnectionError('https://x', withCode('ECONNREFUSED'))),
      true,
    );
    assert.equal(
      isTransientError(new KubeConnectionError('https://x', withCode('CERT_HAS_EXPIRED'))),
      false,
    );
  });
});

describe('the Kubernetes status of an error', () => {
  test('is the number a non-2xx answer carried, and its name is made from it', () => {
    const notFound = new KubeStatusError(404, 'Not Found', { kind: 'Status' });
    assert.equal(kubeStatusOf(notFound), 404);
    assert.equal(notFound.errorName, 'EKS.404');
  });

  test('is undefined for anything that is not an answer', () => {
    assert.equal(kubeStatusOf(new KubeConnectionError('https://x', withCode('EPIPE'))), undefined);
    assert.equal(kubeStatusOf(new Error('EKS.404')), undefined);
  });
});

describe('connections that never carried the request', () => {
  test('refused, timed out while connecting, unreachable or a DNS lookup to retry are connect failures', () => {
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']) {
      assert.equal(isConnectFailureCode(code), true, code);
    }
    // A reset is its own case (a reused keep-alive socket); TLS failures repeat identically.
    for (const code of ['ECONNRESET', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ENOTFOUND']) {
      assert.equal(isConnectFailureCode(code), false, code);
    }
    assert.equal(isConnectionResetCode('ECONNRESET'), true);
  });
});
