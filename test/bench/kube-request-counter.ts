/**
 * Counts every request the local Kubernetes API servers receive, by kind, at arrival.
 *
 * Why not `cluster.requests` alone: the server records a request on the response's `finish`
 * event, which never fires when the client hangs up first, and that is exactly how a worker ends
 * a watch it no longer needs; so watches (and any aborted read) go uncounted there. Counting
 * `request` events on `https.Server` sees them all. Only the kube API servers use HTTPS in the
 * bench process (Step Functions and EKS are plain HTTP), so nothing else is counted.
 */

import type { IncomingMessage } from 'node:http';
import { Server } from 'node:https';

export type KubeRequestKind =
  | 'create Job'
  | 'watch Job'
  | 'get Job'
  | 'list Jobs'
  | 'delete Job'
  | 'list pods'
  | 'watch pods'
  | 'read pod log'
  | 'other';

/** Classifies a request by method and path (query decides watch). */
export const classifyKubeRequest = (method: string, url: string): KubeRequestKind => {
  const { pathname, searchParams } = new URL(url, 'https://127.0.0.1');
  const watch = searchParams.get('watch') === '1' || searchParams.get('watch') === 'true';
  const jobs = /^\/apis\/batch\/v1\/namespaces\/[^/]+\/jobs(\/[^/]+)?$/.exec(pathname);
  if (jobs) {
    if (method === 'POST' && !jobs[1]) return 'create Job';
    if (method === 'GET' && watch) return 'watch Job';
    if (method === 'GET' && jobs[1]) return 'get Job';
    if (method === 'GET') return 'list Jobs';
    if (method === 'DELETE') return 'delete Job';
    return 'other';
  }
  if (/^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/log$/.test(pathname)) return 'read pod log';
  if (method === 'GET' && /^\/api\/v1\/namespaces\/[^/]+\/pods$/.test(pathname)) {
    return watch ? 'watch pods' : 'list pods';
  }
  return 'other';
};

export interface KubeRequestCounter {
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  /** Puts `https.Server.prototype.emit` back. */
  uninstall(): void;
}

/** Installs the counter; call before the stack starts (it patches the prototype, so after is fine too). */
export const installKubeRequestCounter = (): KubeRequestCounter => {
  const counts = new Map<string, number>();
  const original = Server.prototype.emit;
  Server.prototype.emit = function patchedEmit(
    this: Server,
    event: string | symbol,
    ...args: unknown[]
  ) {
    if (event === 'request') {
      const req = args[0] as IncomingMessage;
      const kind = classifyKubeRequest(req.method ?? 'GET', req.url ?? '/');
      const key = kind === 'other' ? `other: ${req.method} ${(req.url ?? '').split('?')[0]}` : kind;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return original.apply(this, [event, ...args] as Parameters<typeof original>);
  } as typeof original;
  return {
    counts: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    reset: () => counts.clear(),
    uninstall: () => {
      Server.prototype.emit = original;
    },
  };
};
