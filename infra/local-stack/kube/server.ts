/**
 * The local Kubernetes API server: HTTPS on 127.0.0.1 with a CA made at start, EKS token
 * authentication, a small RBAC, discovery, REST semantics (create/get/list/replace/patch/delete,
 * status subresource, selectors, pagination), watches, pod logs, and fault injection. Real
 * clients (kubectl, @kubernetes/client-node) talk to it unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import jsonPatch from 'fast-json-patch';
import { type LocalIdentity, localRegion } from '../identities.ts';
import { KubeAuth, type KubeUser } from './auth.ts';
import { applyObjectDefaults } from './defaults.ts';
import {
  makeCoreVersions,
  makeGroup,
  makeGroupList,
  makeOpenApiV3Document,
  makeOpenApiV3Index,
  makeResourceList,
  makeVersionInfo,
} from './discovery.ts';
import { FaultInjector, RequestCounters } from './faults.ts';
import { stringifyInt64Json } from './int64-json.ts';
import type { PodLogQuery, PodLogSource } from './log-source.ts';
import { decodeBody, mediaTypeOf, readBodyBytes } from './request-body.ts';
import { makeSelectorPredicate } from './selectors.ts';
import {
  answerSelfSubjectAccessReview,
  answerSelfSubjectRulesReview,
  selfSubjectAccessReviewPath,
  selfSubjectRulesReviewResource,
} from './self-subject-access-review.ts';
import {
  KubeApiError,
  makeBadRequestError,
  makeConflictError,
  makeExpiredError,
  makeFailureStatus,
  makeNotFoundError,
} from './status.ts';
import {
  builtinTypes,
  cloneObject,
  findBuiltinType,
  formatKubeTime,
  type KubeObject,
  ObjectStore,
  type PropagationPolicy,
  type ResourceType,
} from './store.ts';
import { negotiateTable, toTable } from './table.ts';
import { makeClusterCertificates } from './tls.ts';
import { validateObject } from './validation.ts';
import { serveWatch } from './watch.ts';

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

/** Where a resource request points. */
interface ResourcePath {
  group: string;
  version: string;
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
}

const apiVersionOf = (t: ResourceType): string =>
  t.group === '' ? t.version : `${t.group}/${t.version}`;

const sendJson = (res: ServerResponse, code: number, body: unknown, head = false): void => {
  const text = stringifyInt64Json(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(head ? undefined : text);
};

const sendStatus = (
  res: ServerResponse,
  error: KubeApiError,
  head = false,
  headers: Record<string, string> = {},
): void => {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, error.status.code, error.status, head);
};

const notFoundPath = (): KubeApiError =>
  new KubeApiError(
    makeFailureStatus(404, 'NotFound', 'the server could not find the requested resource', {}),
  );

/** Splits `/api/v1/...` and `/apis/<g>/<v>/...` into a resource path; undefined when it is not one. */
const parseResourcePath = (segments: string[]): ResourcePath | undefined => {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1] ?? '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1] ?? '';
    version = segments[2] ?? '';
    rest = segments.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const namespace = rest[1];
    if (group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize')) {
      return {
        group,
        version,
        namespace: undefined,
        resource: 'namespaces',
        name: namespace,
        subresource: rest[2],
      };
    }
    if (rest.length > 5) return undefined;
    return {
      group,
      version,
      namespace,
      resource: rest[2] ?? '',
      name: rest[3],
      subresource: rest[4],
    };
  }
  if (rest.length > 3) return undefined;
  return {
    group,
    version,
    namespace: undefined,
    resource: rest[0] ?? '',
    name: rest[1],
    subresource: rest[2],
  };
};

/** A route with names replaced, for counters: `/apis/batch/v1/namespaces/{namespace}/jobs/{name}`. */
const toRouteTemplate = (p: ResourcePath): string => {
  const prefix = p.group === '' ? `/api/${p.version}` : `/apis/${p.group}/${p.version}`;
  const ns = p.namespace === undefined ? '' : '/namespaces/{namespace}';
  const name = p.name === undefined ? '' : '/{name}';
  const sub = p.subresource === undefined ? '' : `/${p.subresource}`;
  return `${prefix}${ns}/${p.resource}${name}${sub}`;
};

const kindFromResource = (resource: string): string => {
  const singular = resource.endsWith('ies')
    ? `${resource.slice(0, -3)}y`
    : resource.endsWith('s')
      ? resource.slice(0, -1)
      : resource;
  return singular.charAt(0).toUpperCase() + singular.slice(1);
};

/** RFC 7386 JSON merge patch. */
const applyMergePatch = (target: unknown, patch: unknown): unknown => {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    return cloneObject(patch);
  const base: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = applyMergePatch(base[key], value);
  }
  return base;
};

/** The Table a watch's events are printed as, when the client asked for one (kubectl get -w). */
const watchTable = (accept: string | undefined, params: URLSearchParams) => {
  const version = negotiateTable(accept);
  return version === undefined
    ? {}
    : { table: { version, includeObject: params.get('includeObject') } };
};

const parseIntegerParam = (params: URLSearchParams, name: string): number | undefined => {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) {
    throw makeBadRequestError(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
  }
  return Number(raw);
};

const parseBooleanParam = (params: URLSearchParams, name: string): boolean | undefined => {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw makeBadRequestError(`strconv.ParseBool: parsing "${raw}": invalid syntax`);
};

const propagationPolicies = new Set(['Foreground', 'Background', 'Orphan']);

/** Resources whose registry answers DELETE with the deleted object rather than a Success Status. */
const returnsDeletedObject = (t: ResourceType): boolean =>
  t.group === '' &&
  (t.resource === 'pods' || t.resource === 'namespaces' || t.resource === 'services');

interface ContinueToken {
  rv: number;
  after: string;
}

const encodeContinue = (token: ContinueToken): string =>
  Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.after }),
    'utf8',
  ).toString('base64url');

const decodeContinue = (raw: string): ContinueToken => {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as {
      rv?: unknown;
      start?: unknown;
    };
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, after: parsed.start };
    }
  } catch {
    // falls through to the BadRequest below
  }
  throw makeBadRequestError('continue key is not valid: incorrect encoded start resourceVersion');
};

/** Starts the local API server. */
export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const region = options.region ?? localRegion;
  const certificates = await makeClusterCertificates();
  const store = new ObjectStore({ watchHistorySize: options.watchHistorySize ?? 1000 });
  const faults = new FaultInjector();
  const requests = new RequestCounters();
  const auth = new KubeAuth({
    clusterName: options.clusterName,
    ...(options.identities ? { identities: options.identities } : {}),
    ...(options.staticAdminToken !== undefined
      ? { staticAdminToken: options.staticAdminToken }
      : {}),
    ...(options.onAuthRefused ? { onRefused: options.onAuthRefused } : {}),
  });
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  const defaultWatchTimeoutSeconds = options.defaultWatchTimeoutSeconds ?? 1800;
  const openWatches = new Set<() => void>();
  const sockets = new Set<Socket>();
  let serverAddress = '127.0.0.1:0';

  const resolveType = (p: ResourcePath, body?: unknown): ResourceType | undefined => {
    const builtin = findBuiltinType(p.group, p.resource);
    if (builtin) return builtin.version === p.version ? builtin : undefined;
    const known = store.knownTypes.find(
      (t) => t.group === p.group && t.version === p.version && t.resource === p.resource,
    );
    if (known) return known;
    if (p.group === '' || p.resource === '') return undefined;
    // Anything else under /apis/<group>/<version> is stored generically, as a custom resource.
    const bodyKind = (body as { kind?: unknown } | undefined)?.kind;
    return {
      group: p.group,
      version: p.version,
      resource: p.resource,
      kind:
        typeof bodyKind === 'string' && bodyKind !== '' ? bodyKind : kindFromResource(p.resource),
      namespaced: p.namespace !== undefined,
    };
  };

  const readObjectBody = async (req: IncomingMessage, type: ResourceType): Promise<KubeObject> => {
    const body = decodeBody(await readBodyBytes(req), mediaTypeOf(req));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw makeBadRequestError(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    }
    const o = body as KubeObject;
    if (o.kind !== undefined && o.kind !== type.kind) {
      throw makeBadRequestError(
        `the kind in the data (${String(o.kind)}) does not match the expected kind (${type.kind})`,
      );
    }
    if (o.apiVersion !== undefined && o.apiVersion !== apiVersionOf(type)) {
      throw makeBadRequestError(
        `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`,
      );
    }
    if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
    o.kind = type.kind;
    o.apiVersion = apiVersionOf(type);
    return o;
  };

  /** Validates what the object will look like once defaulted (as admission does). */
  const validateDefaulted = (type: ResourceType, o: KubeObject): void => {
    const candidate = cloneObject(o);
    if (!candidate.metadata.name && candidate.metadata.generateName) {
      candidate.metadata.name = `${candidate.metadata.generateName}abcde`;
    }
    candidate.metadata.uid ??= '00000000-0000-0000-0000-000000000000';
    applyObjectDefaults(type, candidate);
    validateObject(type, candidate);
  };

  const makeManagedFields = (req: IncomingMessage, type: ResourceType, operation: string) => [
    {
      manager: (req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown',
      operation,
      apiVersion: apiVersionOf(type),
      time: formatKubeTime(),
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': {} },
    },
  ];

  const handleLog = async (
    req: IncomingMessage,
    res: ServerResponse,
    p: ResourcePath,
    params: URLSearchParams,
  ): Promise<void> => {
    const query: PodLogQuery = {};
    const container = params.get('container');
    if (container) query.container = container;
    for (const key of ['tailLines', 'limitBytes', 'sinceSeconds'] as const) {
      const value = parseIntegerParam(params, key);
      if (value !== undefined) query[key] = value;
    }
    for (const key of ['timestamps', 'previous', 'follow'] as const) {
      const value = parseBooleanParam(params, key);
      if (value !== undefined) query[key] = value;
    }
    const namespace = p.namespace ?? 'default';
    const podName = p.name ?? '';
    if (!options.logSource) {
      if (!store.get(builtinTypes.pods, namespace, podName)) {
        throw makeNotFoundError(builtinTypes.pods, podName);
      }
      throw notFoundPath();
    }
    const stream: Readable = await options.logSource.open(namespace, podName, query);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    if (req.method === 'HEAD') {
      stream.destroy();
      res.end();
      return;
    }
    // pipe() honours backpressure: a huge log is never buffered whole.
    stream.pipe(res);
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
  };

  const handleList = (
    res: ServerResponse,
    type: ResourceType,
    p: ResourcePath,
    params: URLSearchParams,
    head: boolean,
    accept: string | undefined,
  ): void => {
    const predicate = makeSelectorPredicate(
      params.get('labelSelector'),
      params.get('fieldSelector'),
    );
    const limit = parseIntegerParam(params, 'limit');
    const continueRaw = params.get('continue');
    let after: string | undefined;
    let listRv: number | undefined;
    if (continueRaw) {
      const token = decodeContinue(continueRaw);
      if (token.rv < store.oldestWatchableResourceVersion) {
        throw makeExpiredError(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      after = token.after;
      listRv = token.rv;
    }
    const { items, resourceVersion } = store.list(type, p.namespace, predicate);
    const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    const remaining = after === undefined ? items : items.filter((o) => keyOf(o) > (after ?? ''));
    const page = limit !== undefined && limit > 0 ? remaining.slice(0, limit) : remaining;
    const metadata: Record<string, unknown> = {
      resourceVersion: String(listRv ?? resourceVersion),
    };
    const last = page[page.length - 1];
    if (page.length < remaining.length && last) {
      metadata.continue = encodeContinue({
        rv: listRv ?? Number(resourceVersion),
        after: keyOf(last),
      });
      metadata.remainingItemCount = remaining.length - page.length;
    }
    const tableVersion = negotiateTable(accept);
    if (tableVersion) {
      const includeObject = params.get('includeObject');
      const table = toTable(type, page, {
        version: tableVersion,
        listMetadata: metadata,
        includeObject,
      });
      sendJson(res, 200, table, head);
      return;
    }
    const builtin = findBuiltinType(type.group, type.resource) !== undefined;
    sendJson(
      res,
      200,
      {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type),
        metadata,
        // Typed lists of built-in resources carry no kind/apiVersion per item (custom ones do).
        items: builtin ? page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest) : page,
      },
      head,
    );
  };

  const readDeleteOptions = async (
    req: IncomingMessage,
    params: URLSearchParams,
  ): Promise<{
    propagationPolicy?: PropagationPolicy;
    uid?: string;
    resourceVersion?: string;
    dryRun: boolean;
  }> => {
    const bytes = await readBodyBytes(req);
    let body: Record<string, unknown> = {};
    if (bytes.length > 0) {
      const decoded = decodeBody(bytes, mediaTypeOf(req));
      if (typeof decoded === 'object' && decoded !== null)
        body = decoded as Record<string, unknown>;
    }
    let policy = params.get('propagationPolicy') ?? (body.propagationPolicy as string | undefined);
    const orphan = params.get('orphanDependents') ?? body.orphanDependents;
    if (policy === undefined && orphan !== undefined && orphan !== null) {
      policy = orphan === true || orphan === 'true' ? 'Orphan' : 'Background';
    }
    if (policy !== undefined && !propagationPolicies.has(policy)) {
      throw new KubeApiError(
        makeFailureStatus(
          422,
          'Invalid',
          `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        ),
      );
    }
    const preconditions = (body.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
    const dryRun =
      params.getAll('dryRun').includes('All') ||
      (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
    return {
      ...(policy ? { propagationPolicy: policy as PropagationPolicy } : {}),
      ...(preconditions.uid ? { uid: preconditions.uid } : {}),
      ...(preconditions.resourceVersion ? { resourceVersion: preconditions.resourceVersion } : {}),
      dryRun,
    };
  };

  const handleResource = async (
    req: IncomingMessage,
    res: ServerResponse,
    p: ResourcePath,
    params: URLSearchParams,
    user: KubeUser,
  ): Promise<void> => {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const isWatch = params.get('watch') === '1' || params.get('watch') === 'true';
    const isCollection = p.name === undefined;
    const verb = (() => {
      switch (method) {
        case 'GET':
        case 'HEAD':
          return isWatch ? 'watch' : isCollection ? 'list' : 'get';
        case 'POST':
          return 'create';
        case 'PUT':
          return 'update';
        case 'PATCH':
          return 'patch';
        case 'DELETE':
          return isCollection ? 'deletecollection' : 'delete';
        default:
          return method.toLowerCase();
      }
    })();
    // Self reviews (kubectl auth can-i): any authenticated user may ask, as system:basic-user.
    if (p.group === selfSubjectAccessReviewPath.group && method === 'POST') {
      const answer =
        p.resource === selfSubjectAccessReviewPath.resource
          ? answerSelfSubjectAccessReview
          : p.resource === selfSubjectRulesReviewResource
            ? answerSelfSubjectRulesReview
            : undefined;
      if (answer) {
        sendJson(res, 201, answer(decodeBody(await readBodyBytes(req), mediaTypeOf(req)), user));
        return;
      }
    }
    auth.authorize(user, {
      verb,
      group: p.group,
      resource: p.resource,
      subresource: p.subresource,
      namespace: p.namespace,
      name: p.name,
    });

    if (p.group === '' && p.resource === 'pods' && p.subresource === 'log') {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
      await handleLog(req, res, p, params);
      return;
    }
    if (p.subresource !== undefined && p.subresource !== 'status') throw notFoundPath();

    const type = resolveType(p);
    if (!type) throw notFoundPath();
    if (type.namespaced === false && p.namespace !== undefined) throw notFoundPath();
    if (
      p.subresource === 'status' &&
      !type.hasStatus &&
      findBuiltinType(type.group, type.resource)
    ) {
      throw notFoundPath();
    }
    const namespace = type.namespaced ? p.namespace : undefined;
    if (type.namespaced && namespace === undefined && !isCollection) throw notFoundPath();

    if (method === 'GET' || method === 'HEAD') {
      if (isWatch) {
        const predicate = makeSelectorPredicate(
          params.get('labelSelector'),
          params.get('fieldSelector'),
        );
        const single = p.name;
        serveWatch(
          req,
          res,
          {
            type,
            namespace,
            predicate: single ? (o) => o.metadata.name === single && predicate(o) : predicate,
            resourceVersion: params.get('resourceVersion') ?? undefined,
            allowBookmarks: parseBooleanParam(params, 'allowWatchBookmarks') ?? false,
            timeoutSeconds: parseIntegerParam(params, 'timeoutSeconds'),
            ...watchTable(req.headers.accept, params),
          },
          {
            store,
            faults,
            bookmarkIntervalMs,
            defaultTimeoutSeconds: defaultWatchTimeoutSeconds,
            track: (end) => {
              openWatches.add(end);
              return () => openWatches.delete(end);
            },
          },
        );
        return;
      }
      if (isCollection) {
        handleList(res, type, { ...p, namespace }, params, head, req.headers.accept);
        return;
      }
      const found = store.get(type, namespace, p.name ?? '');
      if (!found) throw makeNotFoundError(type, p.name ?? '');
      const tableVersion = negotiateTable(req.headers.accept);
      const includeObject = params.get('includeObject');
      sendJson(
        res,
        200,
        tableVersion ? toTable(type, [found], { version: tableVersion, includeObject }) : found,
        head,
      );
      return;
    }

    const dryRun = params.getAll('dryRun').includes('All');

    if (method === 'POST') {
      if (!isCollection || p.subresource) throw methodNotAllowed();
      const o = await readObjectBody(req, type);
      if (type.namespaced) {
        if (
          o.metadata.namespace !== undefined &&
          o.metadata.namespace !== '' &&
          o.metadata.namespace !== namespace
        ) {
          throw makeBadRequestError(
            'the namespace of the provided object does not match the namespace sent on the request',
          );
        }
        o.metadata.namespace = namespace;
      }
      if (!o.metadata.name && !o.metadata.generateName) {
        throw new KubeApiError(
          makeFailureStatus(
            422,
            'Invalid',
            `${type.group === '' ? type.kind : `${type.kind}.${type.group}`} "" is invalid: metadata.name: Required value: name or generateName is required`,
            {
              group: type.group,
              kind: type.kind,
              causes: [
                {
                  reason: 'FieldValueRequired',
                  message: 'Required value: name or generateName is required',
                  field: 'metadata.name',
                },
              ],
            },
          ),
        );
      }
      delete o.status;
      validateDefaulted(type, o);
      o.metadata.managedFields = makeManagedFields(req, type, 'Update');
      if (dryRun) {
        const preview = cloneObject(o);
        preview.metadata.name ??= `${preview.metadata.generateName ?? ''}`;
        sendJson(res, 201, preview);
        return;
      }
      const created = store.create(type, o);
      sendJson(res, 201, created);
      return;
    }

    if (method === 'PUT' || method === 'PATCH') {
      if (isCollection) throw methodNotAllowed();
      const name = p.name ?? '';
      const current = store.get(type, namespace, name);
      let next: KubeObject;
      let expectResourceVersion: string | undefined;
      if (method === 'PUT') {
        if (!current) throw makeNotFoundError(type, name);
        next = await readObjectBody(req, type);
        if (next.metadata.name !== undefined && next.metadata.name !== name) {
          throw makeBadRequestError(
            `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
          );
        }
        if (type.namespaced && next.metadata.namespace && next.metadata.namespace !== namespace) {
          throw makeBadRequestError(
            'the namespace of the provided object does not match the namespace sent on the request',
          );
        }
        next.metadata.name = name;
        if (namespace) next.metadata.namespace = namespace;
        expectResourceVersion = next.metadata.resourceVersion || undefined;
      } else {
        if (!current) throw makeNotFoundError(type, name);
        next = applyPatchBody(await readBodyBytes(req), mediaTypeOf(req), current, type);
        const patchedRv = next.metadata.resourceVersion;
        if (patchedRv && patchedRv !== current.metadata.resourceVersion) {
          throw makeConflictError(type, name);
        }
        expectResourceVersion = current.metadata.resourceVersion;
      }
      if (current.metadata.managedFields !== undefined) {
        next.metadata.managedFields = current.metadata.managedFields;
      }
      if (p.subresource !== 'status') validateObject(type, next);
      if (dryRun) {
        sendJson(res, 200, next);
        return;
      }
      const updated = store.update(type, next, {
        ...(expectResourceVersion ? { expectResourceVersion } : {}),
        subresource: p.subresource === 'status' ? 'status' : 'main',
      });
      sendJson(res, 200, updated);
      return;
    }

    if (method === 'DELETE') {
      if (p.subresource) throw methodNotAllowed();
      const deleteOptions = await readDeleteOptions(req, params);
      const policy = deleteOptions.propagationPolicy;
      if (isCollection) {
        const predicate = makeSelectorPredicate(
          params.get('labelSelector'),
          params.get('fieldSelector'),
        );
        const { items } = store.list(type, namespace, predicate);
        const deleted: KubeObject[] = [];
        for (const item of items) {
          if (deleteOptions.dryRun || deleteOptions.dryRun || dryRun) {
            deleted.push(item);
            continue;
          }
          const gone = store.delete(
            type,
            item.metadata.namespace,
            item.metadata.name ?? '',
            policy ? { propagationPolicy: policy } : {},
          );
          if (gone) deleted.push(gone);
        }
        sendJson(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(type),
          metadata: { resourceVersion: store.resourceVersion },
          items: deleted,
        });
        return;
      }
      const name = p.name ?? '';
      const current = store.get(type, namespace, name);
      if (!current) throw makeNotFoundError(type, name);
      if (deleteOptions.uid !== undefined && deleteOptions.uid !== current.metadata.uid) {
        throw new KubeApiError(
          makeFailureStatus(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${type.group === '' ? type.resource : `${type.resource}.${type.group}`} "${name}": Precondition failed: UID in precondition: ${deleteOptions.uid}, UID in object meta: ${current.metadata.uid}`,
            { name, group: type.group, kind: type.resource },
          ),
        );
      }
      if (
        deleteOptions.resourceVersion !== undefined &&
        deleteOptions.resourceVersion !== current.metadata.resourceVersion
      ) {
        throw makeConflictError(type, name);
      }
      if (deleteOptions.dryRun || dryRun) {
        sendJson(res, 200, current);
        return;
      }
      const gone =
        store.delete(type, namespace, name, policy ? { propagationPolicy: policy } : {}) ?? current;
      const stillThere = store.get(type, namespace, name);
      if (stillThere) {
        // Finalizers hold the object: 202 with the object carrying its deletionTimestamp.
        sendJson(res, 202, stillThere);
      } else if (returnsDeletedObject(type)) {
        sendJson(res, 200, gone);
      } else {
        sendJson(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, group: type.group, kind: type.resource, uid: gone.metadata.uid },
        });
      }
      return;
    }
    throw methodNotAllowed();
  };

  /** The body of a discovery/non-resource answer, or undefined when the path is not one. */
  const answerNonResource = (segments: string[]): unknown => {
    const path = `/${segments.join('/')}`;
    const types = store.knownTypes;
    if (path === '/version') return makeVersionInfo();
    if (path === '/api') return makeCoreVersions(serverAddress);
    if (path === '/apis') return makeGroupList(types);
    if (path === '/openapi/v3') return makeOpenApiV3Index(types);
    if (segments[0] === 'openapi' && segments[1] === 'v3') {
      const isCore = segments[2] === 'api';
      const group = isCore ? '' : (segments[3] ?? '');
      const version = (isCore ? segments[3] : segments[4]) ?? '';
      return makeOpenApiV3Document(types, group, version) ?? notFoundPath();
    }
    if (segments[0] === 'api' && segments.length === 2) {
      return makeResourceList(types, '', segments[1] ?? '') ?? notFoundPath();
    }
    if (segments[0] === 'apis' && segments.length === 2) {
      return makeGroup(types, segments[1] ?? '') ?? notFoundPath();
    }
    if (segments[0] === 'apis' && segments.length === 3) {
      return makeResourceList(types, segments[1] ?? '', segments[2] ?? '') ?? notFoundPath();
    }
    return notFoundPath();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const params = url.searchParams;
    const isWatch = params.get('watch') === '1' || params.get('watch') === 'true';
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const resourcePath = parseResourcePath(segments);
    const route = resourcePath ? toRouteTemplate(resourcePath) : url.pathname;
    let username: string | undefined;
    // 'close' and not 'finish': a client that ends a watch hangs up before the response finishes,
    // and that request counts too.
    let recorded = false;
    res.on('close', () => {
      if (recorded) return;
      recorded = true;
      requests.record({
        method,
        route,
        path: url.pathname,
        watch: isWatch,
        status: res.statusCode,
        ...(username ? { user: username } : {}),
      });
    });
    const head = method === 'HEAD';
    try {
      const decision = faults.decide({ method, path: url.pathname, watch: isWatch });
      if (decision.delayMs > 0) await new Promise((r) => setTimeout(r, decision.delayMs));
      if (decision.kind === 'reset') {
        recorded = true;
        requests.record({ method, route, path: url.pathname, watch: isWatch, status: 0 });
        req.socket.destroy();
        return;
      }
      if (decision.kind === 'error') {
        const retryable = decision.status === 429 || decision.status === 503;
        const reason =
          decision.status === 429
            ? 'TooManyRequests'
            : decision.status === 503
              ? 'ServiceUnavailable'
              : decision.status === 504
                ? 'Timeout'
                : 'InternalError';
        const message =
          decision.status === 429
            ? 'Too many requests, please try again later.'
            : `Internal error occurred: injected fault (HTTP ${decision.status})`;
        sendStatus(
          res,
          new KubeApiError(
            makeFailureStatus(
              decision.status,
              reason,
              message,
              retryable ? { retryAfterSeconds: decision.retryAfterSeconds } : undefined,
            ),
          ),
          head,
          retryable ? { 'Retry-After': String(decision.retryAfterSeconds) } : {},
        );
        return;
      }
      const user = await auth.authenticate(req.headers.authorization);
      if (!user) {
        sendStatus(
          res,
          new KubeApiError(makeFailureStatus(401, 'Unauthorized', 'Unauthorized')),
          head,
        );
        return;
      }
      username = user.username;
      if (!resourcePath) {
        if (method !== 'GET' && method !== 'HEAD') throw notFoundPath();
        const path = url.pathname;
        if (path === '/healthz' || path === '/livez' || path === '/readyz') {
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(head ? undefined : 'ok');
          return;
        }
        const answer = answerNonResource(segments);
        if (answer instanceof KubeApiError) throw answer;
        sendJson(res, 200, answer, head);
        return;
      }
      await handleResource(req, res, resourcePath, params, user);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const kubeError =
        error instanceof KubeApiError
          ? error
          : new KubeApiError(
              makeFailureStatus(
                500,
                'InternalError',
                `Internal error occurred: ${(error as Error).message}`,
              ),
            );
      sendStatus(res, kubeError, head);
    }
  };

  const server: Server = createServer(
    { cert: certificates.serverCertPem, key: certificates.serverKeyPem },
    (req, res) => {
      void handle(req, res);
    },
  );
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
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  serverAddress = `127.0.0.1:${port}`;
  const attached = options.onStart?.(store);

  let closing: Promise<void> | undefined;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    caPem: certificates.caPem,
    caData: certificates.caData,
    clusterName: options.clusterName,
    region,
    store,
    faults,
    auth,
    requests,
    close: () => {
      closing ??= (async () => {
        for (const end of [...openWatches]) end();
        await attached?.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

const methodNotAllowed = (): KubeApiError =>
  new KubeApiError(
    makeFailureStatus(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    ),
  );

/** Applies a PATCH body of any supported content type to `current`. */
function applyPatchBody(
  bytes: Buffer,
  mediaType: string,
  current: KubeObject,
  type: ResourceType,
): KubeObject {
  switch (mediaType) {
    case 'application/merge-patch+json':
    // kubectl sends strategic merge patches; we apply them as JSON merge patches. The difference
    // (lists merged by key instead of replaced, `$patch` directives) does not matter to the
    // fields our worker and tests patch (labels, annotations, scalars, whole lists).
    case 'application/strategic-merge-patch+json': {
      const patch = decodeBody(bytes, 'application/json');
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw makeBadRequestError(
          'json: cannot unmarshal array into Go value of type map[string]interface {}',
        );
      }
      return applyMergePatch(current, patch) as KubeObject;
    }
    case 'application/json-patch+json': {
      const ops = decodeBody(bytes, 'application/json');
      if (!Array.isArray(ops)) {
        throw makeBadRequestError(
          'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
        );
      }
      try {
        const result = jsonPatch.applyPatch(
          cloneObject(current),
          ops as jsonPatch.Operation[],
          true,
          false,
        );
        return result.newDocument as KubeObject;
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (name === 'TEST_OPERATION_FAILED') {
          throw new KubeApiError(
            makeFailureStatus(
              422,
              'Invalid',
              `the server rejected our request due to an error in our request`,
              {
                name: current.metadata.name ?? '',
                group: type.group,
                kind: type.kind,
                causes: [{ reason: 'FieldValueInvalid', message: 'testing value failed' }],
              },
            ),
          );
        }
        throw new KubeApiError(
          makeFailureStatus(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: ${(error as Error).message.split('\n')[0]}`,
          ),
        );
      }
    }
    case 'application/apply-patch+yaml':
      throw new KubeApiError(
        makeFailureStatus(
          415,
          'UnsupportedMediaType',
          'server-side apply is not supported by the local API server',
        ),
      );
    default:
      throw new KubeApiError(
        makeFailureStatus(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
        ),
      );
  }
}
