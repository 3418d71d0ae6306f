/**
 * Resource types a platform's manifests use besides the built-in workload types (store.ts): a
 * PodDisruptionBudget and namespace-scoped RBAC. The server stores any type generically; these
 * are registered up front so discovery and the OpenAPI index list them before anything was
 * written, which is what kubectl needs to map a manifest's kind to a resource and validate it
 * (`kubectl apply -k deploy/kubernetes`). The cluster enforces none of them: RBAC here is data,
 * permissions come from infra/local-stack/identities.ts.
 */
import type { ResourceType } from './resource-types.ts';
import type { ObjectStore } from './store.ts';

const rbacGroup = 'rbac.authorization.k8s.io';

export const platformTypes: readonly ResourceType[] = [
  {
    group: 'policy',
    version: 'v1',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    namespaced: true,
    hasStatus: true,
    shortNames: ['pdb'],
  },
  { group: rbacGroup, version: 'v1', resource: 'roles', kind: 'Role', namespaced: true },
  {
    group: rbacGroup,
    version: 'v1',
    resource: 'rolebindings',
    kind: 'RoleBinding',
    namespaced: true,
  },
  {
    group: rbacGroup,
    version: 'v1',
    resource: 'clusterroles',
    kind: 'ClusterRole',
    namespaced: false,
  },
  {
    group: rbacGroup,
    version: 'v1',
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
  },
];

/** Makes the store (and so discovery) know the platform types. */
export const registerPlatformTypes = (store: Pick<ObjectStore, 'registerType'>): void => {
  for (const type of platformTypes) store.registerType(type);
};
