/**
 * The local API server's object store: what etcd plus the API server's registry do for our needs.
 * Every write bumps one global resourceVersion and emits a watch event, synchronously and in commit
 * order. Objects going in and out are deep copies, so no caller can change stored state by accident.
 *
 * Controllers (the Job controller, the simulated kubelet) write here directly; the HTTP layer adds
 * authentication, validation and the wire protocol on top.
 */
import { randomUUID } from 'node:crypto';
import { applyObjectDefaults } from './defaults.ts';
import { stringifyInt64Json } from './int64-json.ts';
import {
  KubeApiError,
  makeAlreadyExistsError,
  makeBadRequestError,
  makeConflictError,
  makeNotFoundError,
} from './status.ts';

export type { KubeStatus } from './status.ts';
export { KubeApiError } from './status.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
  finalizers?: string[];
  generation?: number;
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export interface ResourceType {
  /** `''` for the core group. */
  group: string;
  version: string;
  /** The plural, lower-case resource name used in paths (`jobs`). */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Whether the resource has a `/status` subresource (main-resource writes then keep `status`). */
  hasStatus?: boolean;
  /** Short names kubectl may use (`po`, `ns`). */
  shortNames?: readonly string[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  /** A deep copy; its `metadata.resourceVersion` is the event's resourceVersion. */
  object: KubeObject;
}

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

const makeType = (
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: { hasStatus?: boolean; shortNames?: readonly string[] } = {},
): ResourceType => ({ group, version, resource, kind, namespaced, ...extra });

/** The built-in resources the local API server registers (and advertises in discovery). */
export const builtinTypes = {
  namespaces: makeType('', 'v1', 'namespaces', 'Namespace', false, {
    hasStatus: true,
    shortNames: ['ns'],
  }),
  pods: makeType('', 'v1', 'pods', 'Pod', true, { hasStatus: true, shortNames: ['po'] }),
  configmaps: makeType('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  secrets: makeType('', 'v1', 'secrets', 'Secret', true),
  services: makeType('', 'v1', 'services', 'Service', true, {
    hasStatus: true,
    shortNames: ['svc'],
  }),
  serviceaccounts: makeType('', 'v1', 'serviceaccounts', 'ServiceAccount', true, {
    shortNames: ['sa'],
  }),
  events: makeType('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  jobs: makeType('batch', 'v1', 'jobs', 'Job', true, { hasStatus: true }),
  cronjobs: makeType('batch', 'v1', 'cronjobs', 'CronJob', true, {
    hasStatus: true,
    shortNames: ['cj'],
  }),
  deployments: makeType('apps', 'v1', 'deployments', 'Deployment', true, {
    hasStatus: true,
    shortNames: ['deploy'],
  }),
} as const satisfies Record<string, ResourceType>;

export const allBuiltinTypes: readonly ResourceType[] = Object.values(builtinTypes);

/** Finds a built-in type by group and plural resource name. */
export const findBuiltinType = (group: string, resource: string): ResourceType | undefined =>
  allBuiltinTypes.find((t) => t.group === group && t.resource === resource);

/** Deep copy of a JSON value (all stored objects are plain JSON). */
export const cloneObject = <T>(value: T): T => structuredClone(value);

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5 random characters Kubernetes appends to `generateName` (its alphabet has no vowels). */
const makeNameSuffix = (): string => {
  let suffix = '';
  for (let i = 0; i < 5; i++) {
    suffix += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
  }
  return suffix;
};

/** RFC 3339 at second precision, as `metav1.Time` serialises. */
export const formatKubeTime = (date: Date = new Date()): string =>
  `${date.toISOString().slice(0, 19)}Z`;

const typeKey = (t: ResourceType): string => `${t.group}/${t.resource}`;
const objectKey = (namespace: string | undefined, name: string): string =>
  `${namespace ?? ''}/${name}`;

/** The default delete propagation the API server applies per resource. */
const defaultPropagation = (t: ResourceType): PropagationPolicy =>
  // batch/v1 Jobs keep the pre-GC default (orphan) for backward compatibility; kubectl sends
  // Background explicitly, raw API clients that send nothing orphan the pods.
  t.group === 'batch' && t.resource === 'jobs' ? 'Orphan' : 'Background';

interface HistoryEntry {
  resourceVersion: number;
  event: StoreEvent;
}

/** What `eventsSince` answers: the events after a version, or that the version is too old. */
export type EventsSinceResult =
  | { kind: 'events'; events: StoreEvent[] }
  | { kind: 'expired'; oldestResourceVersion: number };

export interface ObjectStoreOptions {
  /** How many past events watches can resume from. @default 1000 */
  watchHistorySize?: number;
  /** Namespaces that exist at start. @default ['default', 'kube-system', 'kube-public', 'kube-node-lease'] */
  initialNamespaces?: readonly string[];
}

export class ObjectStore {
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #types = new Map<string, ResourceType>();
  readonly #listeners = new Set<(e: StoreEvent) => void>();
  readonly #history: HistoryEntry[] = [];
  readonly #historySize: number;
  #resourceVersion = 0;
  /** The resourceVersion of the oldest event dropped from the history (0 = none dropped). */
  #droppedUpTo = 0;

  constructor(options: ObjectStoreOptions = {}) {
    this.#historySize = options.watchHistorySize ?? 1000;
    for (const t of allBuiltinTypes) this.#types.set(typeKey(t), t);
    const namespaces = options.initialNamespaces ?? [
      'default',
      'kube-system',
      'kube-public',
      'kube-node-lease',
    ];
    for (const name of namespaces) {
      this.create(builtinTypes.namespaces, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
    }
  }

  /** The current (latest) global resourceVersion. */
  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestWatchableResourceVersion(): number {
    return this.#droppedUpTo;
  }

  /** Every type that has been written or is built in (for discovery of custom resources). */
  get knownTypes(): ResourceType[] {
    return [...this.#types.values()];
  }

  /** Registers a (custom) resource type so it shows in `knownTypes`. */
  registerType(type: ResourceType): void {
    if (!this.#types.has(typeKey(type))) this.#types.set(typeKey(type), type);
  }

  #bucket(t: ResourceType): Map<string, KubeObject> {
    const key = typeKey(t);
    let bucket = this.#objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.#objects.set(key, bucket);
      this.registerType(t);
    }
    return bucket;
  }

  #nextResourceVersion(): string {
    this.#resourceVersion += 1;
    return String(this.#resourceVersion);
  }

  #emit(type: WatchEventType, resource: ResourceType, stored: KubeObject): void {
    // One deeply frozen copy is shared by the history and every listener: with hundreds of open
    // watches, a copy per listener made each write cost hundreds of copies and stalled the server.
    // Frozen, so a listener that tried to change it would throw instead of corrupting the others.
    const event: StoreEvent = { type, resource, object: deepFreeze(cloneObject(stored)) };
    this.#history.push({ resourceVersion: Number(stored.metadata.resourceVersion), event });
    while (this.#history.length > this.#historySize) {
      const dropped = this.#history.shift();
      if (dropped) this.#droppedUpTo = dropped.resourceVersion;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // A broken listener must not break the write that triggered it (etcd would not care).
      }
    }
  }

  /**
   * Stores a new object: assigns `uid`, `resourceVersion`, `creationTimestamp`, a name from
   * `generateName`, and the defaults a real API server adds (Job selector and labels, ...).
   * @throws KubeApiError 409 AlreadyExists, 404 when the namespace does not exist, 400 without a name
   */
  create(type: ResourceType, obj: KubeObject): KubeObject {
    const o = cloneObject(obj);
    o.metadata ??= {};
    const meta = o.metadata;
    if (type.namespaced) {
      if (!meta.namespace) meta.namespace = 'default';
      const ns = this.get(builtinTypes.namespaces, undefined, meta.namespace);
      if (!ns) throw makeNotFoundError(builtinTypes.namespaces, meta.namespace);
      if (ns.metadata.deletionTimestamp) {
        throw new KubeApiError({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `${type.resource} "${meta.name ?? meta.generateName ?? ''}" is forbidden: unable to create new content in namespace ${meta.namespace} because it is being terminated`,
          reason: 'Forbidden',
          code: 403,
        });
      }
    } else {
      delete meta.namespace;
    }
    const bucket = this.#bucket(type);
    if (!meta.name) {
      if (!meta.generateName) {
        throw makeBadRequestError('name or generateName is required');
      }
      // Retry like the API server would on the (unlikely) collision of a generated name.
      for (let attempt = 0; attempt < 8 && !meta.name; attempt++) {
        const candidate = `${meta.generateName}${makeNameSuffix()}`;
        if (!bucket.has(objectKey(meta.namespace, candidate))) meta.name = candidate;
      }
      if (!meta.name) throw makeAlreadyExistsError(type, `${meta.generateName}`);
    }
    const key = objectKey(meta.namespace, meta.name);
    if (bucket.has(key)) throw makeAlreadyExistsError(type, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = formatKubeTime();
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    o.apiVersion = type.group === '' ? type.version : `${type.group}/${type.version}`;
    o.kind = type.kind;
    applyObjectDefaults(type, o);
    meta.resourceVersion = this.#nextResourceVersion();
    bucket.set(key, o);
    this.#emit('ADDED', type, o);
    return cloneObject(o);
  }

  /** A copy of one object, or undefined. */
  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#objects
      .get(typeKey(type))
      ?.get(objectKey(type.namespaced ? namespace : undefined, name));
    return found ? cloneObject(found) : undefined;
  }

  /**
   * Copies of the objects of a type (in one namespace, or all when `namespace` is undefined),
   * ordered by namespace then name as etcd keys are, and the resourceVersion the list is at.
   */
  list(
    type: ResourceType,
    namespace?: string,
    filter?: (o: KubeObject) => boolean,
  ): { items: KubeObject[]; resourceVersion: string } {
    const bucket = this.#objects.get(typeKey(type));
    // Filter first, then sort only what matched: controllers list a Job's few pods among
    // thousands on every sync, and sorting every key each time made 5,000 Jobs quadratic.
    const matched: [string, KubeObject][] = [];
    for (const [key, o] of bucket ?? []) {
      if (type.namespaced && namespace !== undefined && o.metadata.namespace !== namespace) {
        continue;
      }
      if (filter && !filter(o)) continue;
      matched.push([key, o]);
    }
    matched.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const items = matched.map(([, o]) => cloneObject(o));
    return { items, resourceVersion: this.resourceVersion };
  }

  /**
   * Replaces an object. `subresource: 'main'` keeps the stored `status` (when the type has a status
   * subresource); `'status'` keeps everything but `status`; absent replaces the whole object
   * (controllers). `uid`, `creationTimestamp` and `generateName` always stay.
   * @throws KubeApiError 404, 409 Conflict on a stale `expectResourceVersion`
   */
  update(
    type: ResourceType,
    obj: KubeObject,
    opts: { expectResourceVersion?: string; subresource?: 'main' | 'status' } = {},
  ): KubeObject {
    const name = obj.metadata?.name;
    if (!name) throw makeBadRequestError('name is required');
    const namespace = type.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const bucket = this.#bucket(type);
    const key = objectKey(namespace, name);
    const current = bucket.get(key);
    if (!current) throw makeNotFoundError(type, name);
    if (
      opts.expectResourceVersion !== undefined &&
      opts.expectResourceVersion !== current.metadata.resourceVersion
    ) {
      throw makeConflictError(type, name);
    }
    let next = cloneObject(obj);
    if (opts.subresource === 'status') {
      next = { ...cloneObject(current), status: next.status };
      if (next.status === undefined) delete next.status;
    } else if (opts.subresource === 'main' && type.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = cloneObject(current.status);
    }
    return this.#commitUpdate(type, bucket, key, current, next);
  }

  #commitUpdate(
    type: ResourceType,
    bucket: Map<string, KubeObject>,
    key: string,
    current: KubeObject,
    next: KubeObject,
  ): KubeObject {
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    next.metadata ??= {};
    const meta = next.metadata;
    meta.name = current.metadata.name;
    if (current.metadata.namespace) meta.namespace = current.metadata.namespace;
    else delete meta.namespace;
    meta.uid = current.metadata.uid;
    meta.creationTimestamp = current.metadata.creationTimestamp;
    if (current.metadata.generateName) meta.generateName = current.metadata.generateName;
    if (current.metadata.deletionTimestamp) {
      meta.deletionTimestamp = current.metadata.deletionTimestamp;
    }
    // generation counts spec changes only, as the registry strategies do.
    if (current.metadata.generation !== undefined) {
      const specChanged = stringifyInt64Json(current.spec) !== stringifyInt64Json(next.spec);
      meta.generation = current.metadata.generation + (specChanged ? 1 : 0);
    }
    meta.resourceVersion = current.metadata.resourceVersion;
    if (stringifyInt64Json(current) === stringifyInt64Json(next)) {
      // A no-op write does not bump the resourceVersion nor emit an event (as the API server).
      return cloneObject(current);
    }
    meta.resourceVersion = this.#nextResourceVersion();
    if (meta.deletionTimestamp && (meta.finalizers?.length ?? 0) === 0) {
      bucket.delete(key);
      this.#emit('DELETED', type, next);
      return cloneObject(next);
    }
    bucket.set(key, next);
    this.#emit('MODIFIED', type, next);
    return cloneObject(next);
  }

  /**
   * Read-modify-write for controllers: `fn` mutates a copy; a change bumps the resourceVersion and
   * emits MODIFIED. Returns the stored result, or undefined if the object is gone.
   */
  mutate(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    fn: (o: KubeObject) => void,
  ): KubeObject | undefined {
    const bucket = this.#objects.get(typeKey(type));
    const key = objectKey(type.namespaced ? namespace : undefined, name);
    const current = bucket?.get(key);
    if (!bucket || !current) return undefined;
    const next = cloneObject(current);
    fn(next);
    return this.#commitUpdate(type, bucket, key, current, next);
  }

  /**
   * Deletes an object and, per `propagationPolicy`, its dependents (objects whose
   * `metadata.ownerReferences` name its uid): Background and Foreground delete them (Foreground
   * first, then the owner), Orphan removes the owner reference from them. The default is the API
   * server's: Orphan for batch/v1 Jobs, Background otherwise. An object with finalizers only gets a
   * `deletionTimestamp`; it goes when its finalizers are emptied. Returns the object as deleted.
   */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: PropagationPolicy; expectUid?: string } = {},
  ): KubeObject | undefined {
    const bucket = this.#objects.get(typeKey(type));
    const key = objectKey(type.namespaced ? namespace : undefined, name);
    const current = bucket?.get(key);
    if (!bucket || !current) return undefined;
    if (opts.expectUid !== undefined && opts.expectUid !== current.metadata.uid) {
      throw makeConflictError(type, name);
    }
    const policy = opts.propagationPolicy ?? defaultPropagation(type);
    const uid = current.metadata.uid ?? '';
    if (policy === 'Orphan') this.#orphanDependents(uid);
    if (policy === 'Foreground') this.#deleteDependents(uid, policy);
    if (type.group === '' && type.resource === 'namespaces') this.#deleteNamespaceContents(name);
    let result: KubeObject;
    if ((current.metadata.finalizers?.length ?? 0) > 0) {
      if (current.metadata.deletionTimestamp) return cloneObject(current);
      const next = cloneObject(current);
      next.metadata.deletionTimestamp = formatKubeTime();
      next.metadata.resourceVersion = this.#nextResourceVersion();
      bucket.set(key, next);
      this.#emit('MODIFIED', type, next);
      result = next;
    } else {
      const removed = cloneObject(current);
      // The DELETED event carries the deletion's own resourceVersion, as etcd reports it.
      removed.metadata.resourceVersion = this.#nextResourceVersion();
      bucket.delete(key);
      this.#emit('DELETED', type, removed);
      result = removed;
    }
    if (policy === 'Background') this.#deleteDependents(uid, policy);
    return cloneObject(result);
  }

  #findDependents(ownerUid: string): { type: ResourceType; object: KubeObject }[] {
    const found: { type: ResourceType; object: KubeObject }[] = [];
    for (const [key, bucket] of this.#objects) {
      const type = this.#types.get(key);
      if (!type) continue;
      for (const o of bucket.values()) {
        if (o.metadata.ownerReferences?.some((ref) => ref.uid === ownerUid)) {
          found.push({ type, object: o });
        }
      }
    }
    return found;
  }

  #orphanDependents(ownerUid: string): void {
    for (const { type, object } of this.#findDependents(ownerUid)) {
      this.mutate(type, object.metadata.namespace, object.metadata.name ?? '', (o) => {
        const refs = (o.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== ownerUid);
        if (refs.length > 0) o.metadata.ownerReferences = refs;
        else delete o.metadata.ownerReferences;
      });
    }
  }

  #deleteDependents(ownerUid: string, policy: PropagationPolicy): void {
    for (const { type, object } of this.#findDependents(ownerUid)) {
      this.delete(type, object.metadata.namespace, object.metadata.name ?? '', {
        propagationPolicy: policy,
      });
    }
  }

  #deleteNamespaceContents(namespace: string): void {
    for (const [key, bucket] of this.#objects) {
      const type = this.#types.get(key);
      if (!type?.namespaced) continue;
      for (const o of [...bucket.values()]) {
        if (o.metadata.namespace !== namespace) continue;
        this.delete(type, namespace, o.metadata.name ?? '', { propagationPolicy: 'Background' });
      }
    }
  }

  /** Listens to every committed write, synchronously and in commit order. Returns unsubscribe. */
  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Events with a resourceVersion greater than `resourceVersion`, from the bounded history, or
   * `expired` when events after it have been dropped (a watch must then answer 410 Expired).
   */
  eventsSince(resourceVersion: number): EventsSinceResult {
    if (resourceVersion < this.#droppedUpTo) {
      return { kind: 'expired', oldestResourceVersion: this.#droppedUpTo + 1 };
    }
    const events = this.#history
      .filter((entry) => entry.resourceVersion > resourceVersion)
      .map((entry) => entry.event);
    return { kind: 'events', events };
  }
}

/** Freezes an object and everything it holds, so shared event objects stay as they were written. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
