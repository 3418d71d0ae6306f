/**
 * Kubernetes `Status` objects and the error that carries one. Every error answer of the local API
 * server is one of these, shaped exactly like the real API server's (clients parse `reason`,
 * `details` and `code`).
 */

/** One cause of a 422 `Invalid` answer. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The wire shape of a `Status` (`kind: Status, apiVersion: v1`). */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Thrown by the store and the HTTP layer; the HTTP layer answers with `status` as the body. */
export class KubeApiError extends Error {
  readonly status: KubeStatus;
  constructor(status: KubeStatus) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'KubeApiError';
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
}

/** Builds a failure `Status`. */
export const makeFailureStatus = (
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): KubeStatus => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code,
});

/** Identifies a resource in messages the way the API server does (`jobs.batch`, `pods`). */
export interface QualifiedResource {
  group: string;
  resource: string;
  kind: string;
}

/** `jobs.batch` for a grouped resource, `pods` for a core one. */
export const toQualifiedResource = (r: { group: string; resource: string }): string =>
  r.group === '' ? r.resource : `${r.resource}.${r.group}`;

/** `Job.batch` for a grouped kind, `Pod` for a core one (used in `Invalid` messages). */
export const toQualifiedKind = (r: { group: string; kind: string }): string =>
  r.group === '' ? r.kind : `${r.kind}.${r.group}`;

const makeError = (code: number, reason: string, message: string, details?: StatusDetails) =>
  new KubeApiError(makeFailureStatus(code, reason, message, details));

/** 404 `jobs.batch "x" not found`. */
export const makeNotFoundError = (r: QualifiedResource, name: string): KubeApiError =>
  makeError(404, 'NotFound', `${toQualifiedResource(r)} "${name}" not found`, {
    name,
    group: r.group,
    kind: r.resource,
  });

/** 409 `jobs.batch "x" already exists`. */
export const makeAlreadyExistsError = (r: QualifiedResource, name: string): KubeApiError =>
  makeError(409, 'AlreadyExists', `${toQualifiedResource(r)} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.resource,
  });

/** 409 `Conflict` for a stale `metadata.resourceVersion`. */
export const makeConflictError = (r: QualifiedResource, name: string): KubeApiError =>
  makeError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${toQualifiedResource(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: r.group, kind: r.resource },
  );

/** 400 `BadRequest`. */
export const makeBadRequestError = (message: string): KubeApiError =>
  makeError(400, 'BadRequest', message);

/** 422 `Invalid`, message `Job.batch "x" is invalid: <cause>, <cause>` as the API server joins them. */
export const makeInvalidError = (
  r: QualifiedResource,
  name: string,
  causes: StatusCause[],
): KubeApiError => {
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const joined = summary.length === 1 ? summary[0] : `[${summary.join(', ')}]`;
  return makeError(422, 'Invalid', `${toQualifiedKind(r)} "${name}" is invalid: ${joined}`, {
    name,
    group: r.group,
    kind: r.kind,
    causes,
  });
};

/** 410 `Expired` for a watch or continue token older than the kept history. */
export const makeExpiredError = (message: string): KubeApiError =>
  makeError(410, 'Expired', message);

/** 401 `Unauthorized`, exactly as the API server answers any authentication failure. */
export const makeUnauthorizedError = (): KubeApiError =>
  makeError(401, 'Unauthorized', 'Unauthorized');

/** 403 `Forbidden` with the real message shape. */
export const makeForbiddenError = (
  user: string,
  verb: string,
  r: { group: string; resource: string; subresource?: string | undefined },
  namespace: string | undefined,
  name?: string,
): KubeApiError => {
  const resourceLabel = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const target = name ? `${toQualifiedResource(r)} "${name}"` : toQualifiedResource(r);
  const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
  return makeError(
    403,
    'Forbidden',
    `${target} is forbidden: User "${user}" cannot ${verb} resource "${resourceLabel}" in API group "${r.group}"${scope}`,
    { ...(name ? { name } : {}), group: r.group, kind: r.resource },
  );
};

/** 404 for a path the server does not serve at all (no resource named). */
export const makePathNotFoundError = (): KubeApiError =>
  makeError(404, 'NotFound', 'the server could not find the requested resource', {});

/** 405 for a verb the requested resource (or subresource) does not take. */
export const makeMethodNotAllowedError = (): KubeApiError =>
  makeError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
