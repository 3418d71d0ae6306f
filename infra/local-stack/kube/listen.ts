/**
 * The API server's HTTPS listener: listening on 127.0.0.1 with the cluster's serving certificate,
 * and closing with every connection (idle keep-alives and open watches included) ended.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface TlsListener {
  port: number;
  /** Stops accepting, ends every connection and resolves once the server has closed. */
  close(): Promise<void>;
}

export async function listenTls(
  tls: { cert: string; key: string },
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsListener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(tls, handle);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Idle keep-alive connections stay open 90 s, as kube-apiserver's (Go's) do, not Node's 5 s:
  // a server closing an idle connection just as a client reuses it resets that request, and a
  // POST (a Job's create) is not repeated after a reset; the 5,000-task bench lost tasks so.
  server.keepAliveTimeout = 90_000;
  // A client that resets the TLS handshake (or a test without the CA) must not crash anything.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: a burst of hundreds of workers' connections (the 500-task benchmark)
    // must wait for a busy event loop rather than be dropped and retried by the kernel.
    server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
