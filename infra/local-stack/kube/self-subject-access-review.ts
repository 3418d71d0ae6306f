/**
 * `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, what `kubectl auth can-i` sends
 * (in protobuf). As on a real cluster every authenticated user may ask (system:basic-user), and
 * the answer is the server's own authorizer applied to the attributes in the review, so it says
 * exactly what a request would meet. The review is returned with `status` filled in, 201 Created.
 */
import { isAllowed, type KubeUser } from './auth.ts';
import { makeBadRequestError } from './status.ts';

export const selfSubjectAccessReviewPath = {
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'selfsubjectaccessreviews',
} as const;

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The review with its `status`, as the API server answers it. @throws 400 without a spec. */
export const answerSelfSubjectAccessReview = (review: unknown, user: KubeUser): unknown => {
  const spec = isRecord(review) && isRecord(review.spec) ? review.spec : undefined;
  const resource = spec && isRecord(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource =
    spec && isRecord(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if (!resource === !nonResource) {
    throw makeBadRequestError(
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  }
  let allowed: boolean;
  if (resource) {
    const attrs = resource as ResourceAttributes;
    allowed = isAllowed(user.permission, {
      verb: attrs.verb ?? '',
      group: attrs.group ?? '',
      resource: attrs.resource ?? '',
      subresource: attrs.subresource || undefined,
      namespace: attrs.namespace || undefined,
      name: attrs.name || undefined,
    });
  } else {
    // Non-resource URLs (/healthz, /api, ...) carry no namespace: only cluster-admin's wildcard
    // rule covers them here, the stand-in having no finer non-resource rules.
    allowed = user.permission.kind === 'cluster-admin';
  }
  const reason = allowed ? 'allowed by the local stack RBAC' : undefined;
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: `${selfSubjectAccessReviewPath.group}/${selfSubjectAccessReviewPath.version}`,
    metadata: {},
    spec,
    status: { allowed, ...(reason ? { reason } : {}) },
  };
};

export const selfSubjectRulesReviewResource = 'selfsubjectrulesreviews';

/**
 * `kubectl auth can-i --list`: the rules the user has in `spec.namespace`, derived from the same
 * three permission levels `isAllowed` applies. Every user also holds system:basic-user's rules
 * (asking these two reviews), as on a real cluster.
 */
export const answerSelfSubjectRulesReview = (review: unknown, user: KubeUser): unknown => {
  const spec = isRecord(review) && isRecord(review.spec) ? review.spec : {};
  const namespace = typeof spec.namespace === 'string' ? spec.namespace : '';
  const basicUser: { verbs: string[]; apiGroups: string[]; resources: string[] } = {
    verbs: ['create'],
    apiGroups: [selfSubjectAccessReviewPath.group],
    resources: [selfSubjectAccessReviewPath.resource, selfSubjectRulesReviewResource],
  };
  const everything = { verbs: ['*'], apiGroups: ['*'], resources: ['*'] };
  const permission = user.permission;
  const resourceRules = [basicUser];
  if (permission.kind === 'cluster-admin') resourceRules.push(everything);
  if (permission.kind === 'edit') {
    resourceRules.push({
      verbs: ['get', 'list', 'watch'],
      apiGroups: [''],
      resources: ['namespaces'],
    });
    if (permission.namespaces.includes(namespace)) resourceRules.push(everything);
  }
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: `${selfSubjectAccessReviewPath.group}/${selfSubjectAccessReviewPath.version}`,
    metadata: {},
    spec,
    status: {
      resourceRules,
      nonResourceRules:
        permission.kind === 'cluster-admin' ? [{ verbs: ['*'], nonResourceURLs: ['*'] }] : [],
      incomplete: false,
    },
  };
};
