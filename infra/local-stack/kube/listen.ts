/**
 * The API server's HTTPS listener: the cluster's serving certificate and kube-apiserver's
 * connection habits, on the stand-ins' shared loopback listener (http/loopback-server.ts), whose
 * close ends every connection, idle keep-alives and open watches included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { type LoopbackServer, serveOnLoopback } from '../http/loopback-server.ts';

export async function listenTls(
  tls: { cert: string; key: string },
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LoopbackServer<Server>> {
  const server = createServer(tls, handle);
  // Idle keep-alive connections stay open 90 s, as kube-apiserver's (Go's) do, not Node's 5 s:
  // a server closing an idle connection just as a client reuses it resets that request, and a
  // POST (a Job's create) is not repeated after a reset; the 5,000-task bench lost tasks so.
  server.keepAliveTimeout = 90_000;
  // A client that resets the TLS handshake (or a test without the CA) must not crash anything.
  server.on('tlsClientError', () => {});
  // A deep accept queue: a burst of hundreds of workers' connections (the 500-task benchmark)
  // must wait for a busy event loop rather than be dropped and retried by the kernel.
  return serveOnLoopback(server, { port, backlog: 4096 });
}
