/** Test support: the real kubectl against a local cluster, with a kubeconfig per identity. */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeApiServer } from '../../../../infra/local-stack/kube/server.ts';

export const kubectlPath = new URL('../../../../.tools/bin/kubectl', import.meta.url).pathname;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Writes a kubeconfig for `server` with a bearer token; returns its path. */
export const writeKubeconfig = (
  dir: string,
  file: string,
  server: KubeApiServer,
  token: string,
): string => {
  const path = join(dir, file);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: { server: server.endpoint, 'certificate-authority-data': server.caData },
        },
      ],
      users: [{ name: 'user', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'user' } }],
      'current-context': 'local',
    }),
  );
  return path;
};

/** Runs kubectl with `config`; HOME is `dir` so no user cache or config leaks in. */
export const runKubectl = (dir: string, config: string, args: string[]): Promise<KubectlResult> =>
  new Promise((resolve) => {
    execFile(
      kubectlPath,
      ['--kubeconfig', config, ...args],
      { timeout: 20_000, env: { PATH: process.env.PATH ?? '', HOME: dir } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
