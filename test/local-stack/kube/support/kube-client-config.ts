/**
 * Test support: real `@kubernetes/client-node` configs for the local API server. Kept apart from
 * kube-test-env.ts because loading the client library costs seconds per test file.
 */
import * as k8s from '@kubernetes/client-node';
import type { KubeApiServer } from '../../../../infra/local-stack/kube/server.ts';

/** A KubeConfig for the server with a bearer token (and, by default, the cluster's CA). */
export const makeKubeConfig = (
  server: KubeApiServer,
  token: string,
  options: { trustCa?: boolean } = {},
): k8s.KubeConfig => {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'local',
        server: server.endpoint,
        ...(options.trustCa === false ? {} : { caData: server.caData }),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'user', token }],
    contexts: [{ name: 'ctx', cluster: 'local', user: 'user' }],
    currentContext: 'ctx',
  });
  return kc;
};
