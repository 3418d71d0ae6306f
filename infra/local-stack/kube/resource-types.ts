/**
 * Resource types: what a path's `<group>/<version>/<resource>` names, and the built-in ones the
 * local API server registers and advertises in discovery. Custom resources get a type when first
 * written (see ObjectStore.registerType).
 */

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

/** An object's `apiVersion` for a type: `v1` for the core group, `batch/v1` otherwise. */
export const apiVersionOf = (t: ResourceType): string =>
  t.group === '' ? t.version : `${t.group}/${t.version}`;
