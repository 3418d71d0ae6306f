/**
 * Test support: starts the local API server, signs tokens for the local identities (as
 * `aws eks get-token` does) and makes raw HTTPS requests that trust the cluster CA.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { type LocalIdentity, localIdentities } from '../../../../infra/local-stack/identities.ts';
import {
  type KubeApiServer,
  type KubeApiServerOptions,
  startKubeApiServer,
} from '../../../../infra/local-stack/kube/server.ts';
import { signEksToken } from './sign-token.ts';

export const testClusterName = 'local-test-cluster';

export const startTestServer = (
  options: Partial<KubeApiServerOptions> = {},
): Promise<KubeApiServer> => startKubeApiServer({ clusterName: testClusterName, ...options });

/** A token for an identity, signed for `clusterName` (default: the server's). */
export const tokenFor = (
  identity: LocalIdentity,
  server: KubeApiServer,
  extra: { clusterName?: string; signingDate?: Date; secretAccessKey?: string } = {},
): Promise<string> =>
  signEksToken({
    accessKeyId: identity.accessKeyId,
    secretAccessKey: extra.secretAccessKey ?? identity.secretAccessKey,
    clusterName: extra.clusterName ?? server.clusterName,
    ...(extra.signingDate ? { signingDate: extra.signingDate } : {}),
  });

/**
 * A cluster-admin KubeConfig. Loads `@kubernetes/client-node` lazily (it costs seconds), so test
 * files that only make raw requests do not pay for it.
 */
export const adminConfig = async (server: KubeApiServer): Promise<KubeConfig> => {
  const { makeKubeConfig } = await import('./kube-client-config.ts');
  return makeKubeConfig(server, await tokenFor(localIdentities.admin, server));
};

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * A raw HTTPS request with the cluster CA trusted (undici via a custom dispatcher is not needed:
 * node:https with `ca`).
 */
export async function requestRaw(
  server: KubeApiServer,
  token: string | undefined,
  method: string,
  path: string,
  body?: { contentType: string; text: string },
  timeoutMs = 5000,
): Promise<RawResponse> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.endpoint);
    const req = https.request(
      url,
      {
        method,
        ca: server.caPem,
        headers: {
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(body
            ? {
                'Content-Type': body.contentType,
                'Content-Length': String(Buffer.byteLength(body.text)),
              }
            : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (typeof v === 'string') headers.set(k, v);
          }
          resolve({ status: res.statusCode ?? 0, headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body?.text);
  });
}

/** A minimal valid Job. */
export const makeJob = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, ...extra },
  spec: {
    template: {
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] },
    },
  },
});
