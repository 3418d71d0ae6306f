/**
 * The process host's HTTP listener for the platform, not for users: `/healthz` (liveness),
 * `/readyz` (readiness) and `/metrics` (Prometheus text format). Plain node:http: three read-only
 * routes need no framework. It answers only GET/HEAD and never echoes a request back.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { HealthReport } from './process-health.ts';

export interface HttpEndpointOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @default all interfaces: the kubelet probes the pod IP */
  readonly host?: string;
  readonly health: () => HealthReport;
  readonly registry: Registry;
}

export interface HttpEndpoint {
  /** The port actually listened on. */
  readonly port: number;
  close(): Promise<void>;
}

const send = (
  response: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
) => {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
};

const probe = (response: ServerResponse, healthy: boolean, detail: string) =>
  send(response, healthy ? 200 : 503, `${healthy ? 'ok' : 'not ok'}: ${detail}\n`);

/** Starts listening; resolves once the port is bound. */
export const startHttpEndpoint = async (options: HttpEndpointOptions): Promise<HttpEndpoint> => {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(response, 405, 'method not allowed\n');
      return;
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/healthz': {
        const report = options.health();
        probe(response, report.live, report.detail);
        return;
      }
      case '/readyz': {
        const report = options.health();
        probe(response, report.ready, report.detail);
        return;
      }
      case '/metrics':
        send(response, 200, await options.registry.metrics(), options.registry.contentType);
        return;
      default:
        send(response, 404, 'not found\n');
    }
  };
  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
  // Probes are short; a slow client must not hold a socket through the shutdown.
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
