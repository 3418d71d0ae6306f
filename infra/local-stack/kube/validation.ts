/**
 * Create/update validation for the resources our worker submits, with the API server's messages
 * and cause reasons (clients and people read them): `Required value`, `Unsupported value`,
 * `Invalid value`.
 */

import type { KubeObject } from './objects.ts';
import type { ResourceType } from './resource-types.ts';
import { makeInvalidError, type StatusCause } from './status.ts';

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const required = (field: string): StatusCause => ({
  reason: 'FieldValueRequired',
  message: 'Required value',
  field,
});

const notSupported = (field: string, value: string, supported: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: "${value}": supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  field,
});

const invalid = (field: string, value: string, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: "${value}": ${detail}`,
  field,
});

const subdomainDetail =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelDetail =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;

const validateName = (name: string | undefined, causes: StatusCause[]): void => {
  if (!name) return;
  if (name.length > 253 || !dns1123Subdomain.test(name)) {
    causes.push(invalid('metadata.name', name, subdomainDetail));
  }
};

const validatePodSpec = (
  spec: Record<string, unknown> | undefined,
  path: string,
  allowedRestart: string[],
  causes: StatusCause[],
): void => {
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(required(`${path}.containers`));
  } else {
    const names = new Set<string>();
    containers.forEach((c, i) => {
      const container = asRecord(c);
      const name = container?.name;
      if (typeof name !== 'string' || name === '')
        causes.push(required(`${path}.containers[${i}].name`));
      else if (!dns1123Label.test(name) || name.length > 63) {
        causes.push(invalid(`${path}.containers[${i}].name`, name, labelDetail));
      } else if (names.has(name)) {
        causes.push({
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: "${name}"`,
          field: `${path}.containers[${i}].name`,
        });
      } else names.add(name);
      const image = container?.image;
      if (typeof image !== 'string' || image.trim() === '') {
        causes.push(required(`${path}.containers[${i}].image`));
      }
    });
  }
  const restartPolicy = spec?.restartPolicy;
  if (typeof restartPolicy === 'string' && !allowedRestart.includes(restartPolicy)) {
    causes.push(notSupported(`${path}.restartPolicy`, restartPolicy, allowedRestart));
  } else if (restartPolicy === undefined) {
    causes.push({
      ...required(`${path}.restartPolicy`),
      message: `Required value: valid values: ${allowedRestart.map((s) => `"${s}"`).join(', ')}`,
    });
  }
};

/**
 * Validates an object (already defaulted) and throws 422 `Invalid` listing every cause.
 * Only names are checked for resources we do not model.
 */
export function validateObject(type: ResourceType, o: KubeObject): void {
  const causes: StatusCause[] = [];
  const name = o.metadata?.name ?? '';
  validateName(o.metadata?.name, causes);
  if (type.group === 'batch' && type.resource === 'jobs') {
    const spec = asRecord(o.spec);
    const template = asRecord(spec?.template);
    validatePodSpec(asRecord(template?.spec), 'spec.template.spec', ['OnFailure', 'Never'], causes);
    for (const field of [
      'parallelism',
      'completions',
      'backoffLimit',
      'activeDeadlineSeconds',
    ] as const) {
      const value = spec?.[field];
      // An int64 beyond 2^53 arrives as a bigint (int64-json.ts); the sign rule is the same.
      if ((typeof value === 'number' || typeof value === 'bigint') && value < 0) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${value}: must be greater than or equal to 0`,
          field: `spec.${field}`,
        });
      }
    }
  } else if (type.group === '' && type.resource === 'pods') {
    validatePodSpec(asRecord(o.spec), 'spec', ['Always', 'OnFailure', 'Never'], causes);
  }
  if (causes.length > 0) throw makeInvalidError(type, name, causes);
}
