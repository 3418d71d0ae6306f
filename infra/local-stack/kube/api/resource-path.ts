/**
 * Where a request points: `/api/v1/...` and `/apis/<group>/<version>/...` split into group,
 * version, namespace, resource, name and subresource, and the resource type that names.
 */
import { findBuiltinType, type ResourceType } from '../resource-types.ts';
import type { ObjectStore } from '../store.ts';

/** Where a resource request points. */
export interface ResourcePath {
  group: string;
  version: string;
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
}

/** Splits `/api/v1/...` and `/apis/<g>/<v>/...` into a resource path; undefined when it is not one. */
export const parseResourcePath = (segments: string[]): ResourcePath | undefined => {
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
export const toRouteTemplate = (p: ResourcePath): string => {
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

/** The type a path names; anything unknown under `/apis/<group>/<version>` is a custom resource. */
export const resolveType = (store: ObjectStore, p: ResourcePath): ResourceType | undefined => {
  const builtin = findBuiltinType(p.group, p.resource);
  if (builtin) return builtin.version === p.version ? builtin : undefined;
  const known = store.knownTypes.find(
    (t) => t.group === p.group && t.version === p.version && t.resource === p.resource,
  );
  if (known) return known;
  if (p.group === '' || p.resource === '') return undefined;
  // Anything else under /apis/<group>/<version> is stored generically, as a custom resource.
  return {
    group: p.group,
    version: p.version,
    resource: p.resource,
    kind: kindFromResource(p.resource),
    namespaced: p.namespace !== undefined,
  };
};
