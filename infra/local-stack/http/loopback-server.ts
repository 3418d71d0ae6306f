/**
 * Listening and closing for the local stand-in servers (EKS, Step Functions, SQS, and the
 * Kubernetes API server over TLS), so each does it the same way: on 127.0.0.1 only, and a close
 * that does not wait for clients' idle keep-alive connections or open streams.
 */
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** What both `http.Server` and `https.Server` offer; the two share no declared base type. */
export type NodeHttpServer =
  | ReturnType<typeof createHttpServer>
  | ReturnType<typeof createHttpsServer>;

export interface LoopbackListenOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** The accept queue's length; Node's default (511) unless a burst of clients needs more. */
  backlog?: number;
}

/** A server listening on 127.0.0.1. */
export interface LoopbackServer<S extends NodeHttpServer = NodeHttpServer> {
  readonly server: S;
  readonly port: number;
  /**
   * Stops accepting, lets answers already written flush, then ends every connection: idle
   * keep-alive ones (which `server.close()` alone would wait for) and busy ones (held polls,
   * watch streams). Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Makes `server` listen on 127.0.0.1 (never a public interface: the stand-ins accept any caller
 * holding the local identities) and resolves once it does.
 */
export async function serveOnLoopback<S extends NodeHttpServer>(
  server: S,
  options: LoopbackListenOptions = {},
): Promise<LoopbackServer<S>> {
  // Tracked from the start: a socket still in its TLS handshake, or one a request upgraded, is
  // not among the connections `closeAllConnections()` knows.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    // Left attached once listening: a later server error (an accept failing with EMFILE) is then
    // absorbed rather than crashing the process the stand-in runs in.
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: options.backlog }, () =>
      resolve(),
    );
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Answers written just before (held polls answered by the caller's own shutdown) get one
        // turn of the event loop to reach their sockets before those are ended.
        await new Promise<void>((resolve) => setImmediate(resolve));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

export interface LoopbackServerOptions extends LoopbackListenOptions {
  /** Serve HTTPS with this certificate and key (and any other TLS option); plain HTTP without. */
  tls?: TlsOptions;
}

/** Creates an HTTP (or, with `tls`, HTTPS) server for `handler` and listens on 127.0.0.1. */
export function startLoopbackServer(
  handler: RequestListener,
  options: LoopbackServerOptions = {},
): Promise<LoopbackServer> {
  const server = options.tls ? createHttpsServer(options.tls, handler) : createHttpServer(handler);
  return serveOnLoopback(server, options);
}

/** `http://127.0.0.1:<port>` (or `https://` for a TLS server). */
export const loopbackEndpoint = (port: number, scheme: 'http' | 'https' = 'http'): string =>
  `${scheme}://127.0.0.1:${port}`;
