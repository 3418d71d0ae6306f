/** The `eks:call` integration: one Kubernetes API request, answered as Step Functions does. */

import type { KubeConnector } from '../../kube/connection.ts';
import { parseResponseBody } from '../../kube/http-body.ts';
import { kubeOutputTooLargeAdvice } from '../kube-output-advice.ts';
import type { Integration } from '../types.ts';
import { parseKubeCallInput } from './parse-input.ts';
import { encodeRequestBody } from './request-body.ts';

export interface KubeCallDependencies {
  /** Shared with the other Kubernetes integrations, so they share tokens and connections. */
  connector: Pick<KubeConnector, 'connect'>;
}

/** The task output (contract §2.1). `ResponseBody` is absent when the body is empty. */
export interface KubeCallOutput {
  ResponseBody?: unknown;
  StatusCode: number;
  StatusText: string;
}

/** Makes the `eks:call` integration (activity names ending in `eks-call`). */
export function makeKubeCallIntegration(deps: KubeCallDependencies): Integration {
  return {
    activitySuffix: 'eks-call',
    outputTooLargeAdvice: kubeOutputTooLargeAdvice,
    async run(input, context): Promise<KubeCallOutput> {
      const call = parseKubeCallInput(input);
      const encoded = encodeRequestBody(call.method, call.requestBody);
      const client = await deps.connector.connect(call.cluster, context.signal);
      const response = await client.request({
        method: call.method,
        path: call.path,
        query: call.queryParameters,
        body: encoded?.body,
        contentType: encoded?.contentType,
        signal: context.signal,
      });
      context.logger.info('Kubernetes API call answered', {
        clusterName: call.cluster.clusterName,
        method: call.method,
        path: call.path,
        statusCode: response.statusCode,
      });
      const responseBody = parseResponseBody(response.body, response.contentType);
      return {
        ...(responseBody === undefined ? {} : { ResponseBody: responseBody }),
        StatusCode: response.statusCode,
        StatusText: response.statusText,
      };
    },
  };
}
