/**
 * The shape of the objects the local API server stores and serves, and the two helpers every part
 * of it uses on them. Objects are plain JSON, so they copy with structuredClone.
 */

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

/** Deep copy of a JSON value (all stored objects are plain JSON). */
export const cloneObject = <T>(value: T): T => structuredClone(value);

/** RFC 3339 at second precision, as `metav1.Time` serialises. */
export const formatKubeTime = (date: Date = new Date()): string =>
  `${date.toISOString().slice(0, 19)}Z`;

/** A field of an object read as a record: `{}` when it is absent or not a JSON object. */
export const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
