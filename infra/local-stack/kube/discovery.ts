/**
 * API discovery documents (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`), the
 * legacy (unaggregated) form: kubectl 1.33 asks for aggregated discovery first and falls back to
 * these when the answer's content type is plain `application/json`.
 */
import type { ResourceType } from './resource-types.ts';

const allVerbs = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

const singularOf = (t: ResourceType): string => t.kind.toLowerCase();

const typesOfGroupVersion = (types: readonly ResourceType[], group: string, version: string) =>
  types.filter((t) => t.group === group && t.version === version);

/** `/version` of the simulated EKS control plane. */
export const makeVersionInfo = () => ({
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-eks-local',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-05-01T00:00:00Z',
  goVersion: 'go1.24.2',
  compiler: 'gc',
  platform: 'linux/amd64',
});

export const makeCoreVersions = (serverAddress: string) => ({
  kind: 'APIVersions',
  versions: ['v1'],
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
});

const groupVersionsOf = (types: readonly ResourceType[]): Map<string, Set<string>> => {
  const groups = new Map<string, Set<string>>();
  for (const t of types) {
    if (t.group === '') continue;
    const versions = groups.get(t.group) ?? new Set<string>();
    versions.add(t.version);
    groups.set(t.group, versions);
  }
  return groups;
};

/** `/apis`: every named group that has at least one type. */
export const makeGroupList = (types: readonly ResourceType[]) => ({
  kind: 'APIGroupList',
  apiVersion: 'v1',
  groups: [...groupVersionsOf(types)].map(([name, versions]) => {
    const list = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: list, preferredVersion: list[0] };
  }),
});

/** `/apis/<group>` */
export const makeGroup = (types: readonly ResourceType[], group: string) => {
  const versions = groupVersionsOf(types).get(group);
  if (!versions) return undefined;
  const list = [...versions].map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: list,
    preferredVersion: list[0],
  };
};

/** `/api/v1` or `/apis/<group>/<version>`; undefined when nothing is served there. */
export const makeResourceList = (
  types: readonly ResourceType[],
  group: string,
  version: string,
) => {
  const matching = typesOfGroupVersion(types, group, version);
  if (matching.length === 0 && !(group === '' && version === 'v1')) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const t of matching) {
    resources.push({
      name: t.resource,
      singularName: singularOf(t),
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: allVerbs,
      ...(t.shortNames ? { shortNames: [...t.shortNames] } : {}),
    });
    if (t.hasStatus) {
      resources.push({
        name: `${t.resource}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (t.group === '' && t.resource === 'pods') {
      resources.push({
        name: 'pods/log',
        singularName: '',
        namespaced: true,
        kind: 'Pod',
        verbs: ['get'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources,
  };
};

const groupVersionPath = (group: string, version: string): string =>
  group === '' ? `api/${version}` : `apis/${group}/${version}`;

/**
 * `/openapi/v3`: the index of per-group-version documents. kubectl 1.33 reads it to learn whether
 * the server validates fields itself (`fieldValidation`); without it, `kubectl apply` insists on
 * downloading a full schema for client-side validation.
 */
export const makeOpenApiV3Index = (types: readonly ResourceType[]) => {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const t of types) {
    const gv = groupVersionPath(t.group, t.version);
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=local` };
  }
  return { paths };
};

/**
 * `/openapi/v3/<gv>`: a minimal OpenAPI 3 document with, for each resource, the item path's PATCH
 * operation tagged with its group-version-kind and the `fieldValidation` parameter (what kubectl's
 * query-parameter verifier looks for). Schemas are left open: the server validates.
 */
export const makeOpenApiV3Document = (
  types: readonly ResourceType[],
  group: string,
  version: string,
) => {
  const matching = typesOfGroupVersion(types, group, version);
  if (matching.length === 0) return undefined;
  const prefix = `/${groupVersionPath(group, version)}`;
  const parameters = ['fieldValidation', 'dryRun', 'fieldManager'].map((name) => ({
    name,
    in: 'query',
    schema: { type: 'string', uniqueItems: true },
  }));
  const paths: Record<string, unknown> = {};
  for (const t of matching) {
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const base = t.namespaced
      ? `${prefix}/namespaces/{namespace}/${t.resource}`
      : `${prefix}/${t.resource}`;
    paths[base] = {
      post: { parameters, 'x-kubernetes-group-version-kind': gvk, responses: {} },
    };
    paths[`${base}/{name}`] = {
      patch: { parameters, 'x-kubernetes-group-version-kind': gvk, responses: {} },
      put: { parameters, 'x-kubernetes-group-version-kind': gvk, responses: {} },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.33.0' },
    paths,
    components: { schemas: {} },
  };
};
