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
import { cloneObject, formatKubeTime, type KubeObject } from './objects.ts';
import {
  allBuiltinTypes,
  apiVersionOf,
  builtinTypes,
  type ResourceType,
} from './resource-types.ts';
import {
  KubeApiError,
  makeAlreadyExistsError,
  makeBadRequestError,
  makeConflictError,
  makeNotFoundError,
} from './status.ts';
import { type EventsSinceResult, type StoreEvent, StoreEventLog } from './store-events.ts';

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5 random characters Kubernetes appends to `generateName` (its alphabet has no vowels). */
const makeNameSuffix = (): string => {
  let suffix = '';
  for (let i = 0; i < 5; i++) {
    suffix += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
  }
  return suffix;
};

const typeKey = (t: ResourceType): string => `${t.group}/${t.resource}`;
const objectKey = (namespace: string | undefined, name: string): string =>
  `${namespace ?? ''}/${name}`;

/** The default delete propagation the API server applies per resource. */
const defaultPropagation = (t: ResourceType): PropagationPolicy =>
  // batch/v1 Jobs keep the pre-GC default (orphan) for backward compatibility; kubectl sends
  // Background explicitly, raw API clients that send nothing orphan the pods.
  t.group === 'batch' && t.resource === 'jobs' ? 'Orphan' : 'Background';

export interface ObjectStoreOptions {
  /** How many past events watches can resume from. @default 1000 */
  watchHistorySize?: number;
  /** Namespaces that exist at start. @default ['default', 'kube-system', 'kube-public', 'kube-node-lease'] */
  initialNamespaces?: readonly string[];
}

export class ObjectStore {
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #types = new Map<string, ResourceType>();
  readonly #events: StoreEventLog;
  #resourceVersion = 0;

  constructor(options: ObjectStoreOptions = {}) {
    this.#events = new StoreEventLog(options.watchHistorySize ?? 1000);
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
    return this.#events.oldestWatchableResourceVersion;
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
    o.apiVersion = apiVersionOf(type);
    o.kind = type.kind;
    applyObjectDefaults(type, o);
    meta.resourceVersion = this.#nextResourceVersion();
    bucket.set(key, o);
    this.#events.emit('ADDED', type, o);
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
   * `copies: false` gives the stored objects themselves, to be read and not kept: a paged LIST
   * copies only its page (copying all 5,000 Jobs for each page of 500 held the stand-in, and so
   * every request to it, for seconds per re-list).
   */
  list(
    type: ResourceType,
    namespace?: string,
    filter?: (o: KubeObject) => boolean,
    options: { copies?: boolean } = {},
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
    const items =
      options.copies === false ? matched.map(([, o]) => o) : matched.map(([, o]) => cloneObject(o));
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
      this.#events.emit('DELETED', type, next);
      return cloneObject(next);
    }
    bucket.set(key, next);
    this.#events.emit('MODIFIED', type, next);
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
      this.#events.emit('MODIFIED', type, next);
      result = next;
    } else {
      const removed = cloneObject(current);
      // The DELETED event carries the deletion's own resourceVersion, as etcd reports it.
      removed.metadata.resourceVersion = this.#nextResourceVersion();
      bucket.delete(key);
      this.#events.emit('DELETED', type, removed);
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
    return this.#events.subscribe(listener);
  }

  /**
   * Events with a resourceVersion greater than `resourceVersion`, from the bounded history, or
   * `expired` when events after it have been dropped (a watch must then answer 410 Expired).
   */
  eventsSince(resourceVersion: number): EventsSinceResult {
    return this.#events.eventsSince(resourceVersion);
  }
}
