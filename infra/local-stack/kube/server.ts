/**
 * The local Kubernetes API server: HTTPS on 127.0.0.1 with a CA made at start, EKS token
 * authentication, a small RBAC, discovery, REST semantics (create/get/list/replace/patch/delete,
 * status subresource, selectors, pagination), watches, pod logs, and fault injection. Real
 * clients (kubectl, @kubernetes/client-node) talk to it unchanged.
 *
 * This file assembles the parts; requests are handled under api/ (dispatch.ts is the front door),
 * the listener is in listen.ts.
 */
import { loopbackEndpoint } from '../http/loopback-server.ts';
import { type LocalIdentity, localRegion } from '../identities.ts';
import type { ApiContext } from './api/context.ts';
import { makeRequestHandler } from './api/dispatch.ts';
import { KubeAuth } from './auth.ts';
import { FaultInjector, RequestCounters } from './faults.ts';
import { listenTls } from './listen.ts';
import type { PodLogSource } from './log-source.ts';
import { ObjectStore } from './store.ts';
import { makeClusterCertificates } from './tls.ts';

export interface KubeApiServerOptions {
  /** The EKS cluster name; tokens must be signed for it (`x-k8s-aws-id`). */
  clusterName: string;
  /** @default localRegion (us-east-1) */
  region?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** How many past events watches can resume from. @default 1000 */
  watchHistorySize?: number;
  /** IAM identities the server knows. @default allLocalIdentities */
  identities?: readonly LocalIdentity[];
  /** A static bearer token accepted as cluster-admin, for debugging. Off by default. */
  staticAdminToken?: string;
  /** Produces pod logs; without it, the log endpoint answers 404. */
  logSource?: PodLogSource;
  /** Attaches controllers to the store (the Job controller, the kubelet); closed by `close()`. */
  onStart?: (store: ObjectStore) => { close(): void | Promise<void> };
  /** Interval of BOOKMARK events on watches that allow them. @default 60000 */
  bookmarkIntervalMs?: number;
  /** Watch lifetime when the client sets no `timeoutSeconds`. @default 1800 */
  defaultWatchTimeoutSeconds?: number;
  /** Called with the reason a token was refused (never the token). */
  onAuthRefused?: (reason: string) => void;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>` */
  endpoint: string;
  caPem: string;
  /** base64 of `caPem`, as EKS DescribeCluster's `certificateAuthority.data`. */
  caData: string;
  clusterName: string;
  region: string;
  store: ObjectStore;
  faults: FaultInjector;
  auth: KubeAuth;
  requests: RequestCounters;
  close(): Promise<void>;
}

/** Starts the local API server. */
export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const region = options.region ?? localRegion;
  const certificates = await makeClusterCertificates();
  const ctx: ApiContext = {
    store: new ObjectStore({ watchHistorySize: options.watchHistorySize ?? 1000 }),
    faults: new FaultInjector(),
    requests: new RequestCounters(),
    auth: new KubeAuth({
      clusterName: options.clusterName,
      ...(options.identities ? { identities: options.identities } : {}),
      ...(options.staticAdminToken !== undefined
        ? { staticAdminToken: options.staticAdminToken }
        : {}),
      ...(options.onAuthRefused ? { onRefused: options.onAuthRefused } : {}),
    }),
    logSource: options.logSource,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    defaultWatchTimeoutSeconds: options.defaultWatchTimeoutSeconds ?? 1800,
    openWatches: new Set(),
    serverAddress: '127.0.0.1:0',
  };
  const handle = makeRequestHandler(ctx);
  const listening = await listenTls(
    { cert: certificates.serverCertPem, key: certificates.serverKeyPem },
    options.port ?? 0,
    (req, res) => {
      void handle(req, res);
    },
  );
  const { port } = listening;
  ctx.serverAddress = `127.0.0.1:${port}`;
  const attached = options.onStart?.(ctx.store);

  let closing: Promise<void> | undefined;
  return {
    endpoint: loopbackEndpoint(port, 'https'),
    caPem: certificates.caPem,
    caData: certificates.caData,
    clusterName: options.clusterName,
    region,
    store: ctx.store,
    faults: ctx.faults,
    auth: ctx.auth,
    requests: ctx.requests,
    close: () => {
      closing ??= (async () => {
        for (const end of [...ctx.openWatches]) end();
        await attached?.close();
        await listening.close();
      })();
      return closing;
    },
  };
}
