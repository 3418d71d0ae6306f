/**
 * Request bodies in Kubernetes' protobuf encoding, which kubectl's imperative commands send for
 * built-in types (`kubectl create configmap|job|secret ...`, `kubectl auth can-i` posting a
 * SelfSubjectAccessReview): `Content-Type: application/vnd.kubernetes.protobuf`. A real API server
 * decodes them; kubectl does not fall back to JSON after a 415, so the stand-in must too.
 *
 * The wire format: the magic bytes `k8s\0`, then a `runtime.Unknown` envelope holding the
 * apiVersion/kind and the object's own protobuf bytes. The message schemas are the generated
 * `.proto` files of k8s.io/api and k8s.io/apimachinery, vendored under `./protobuf/` (comments
 * stripped). Decoding is `protobufjs`; this module only maps the result to the JSON form the rest
 * of the server speaks, the way the Go types' JSON encoding would write it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { KubeApiError, makeBadRequestError, makeFailureStatus } from './status.ts';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';

const protoRoot = join(dirname(fileURLToPath(import.meta.url)), 'protobuf');
const protoFiles = [
  'k8s.io/api/core/v1/generated.proto',
  'k8s.io/api/batch/v1/generated.proto',
  'k8s.io/api/apps/v1/generated.proto',
  'k8s.io/api/authorization/v1/generated.proto',
];
const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"
const meta = 'k8s.io.apimachinery.pkg.apis.meta.v1';

/** API group (as in apiVersion) -> the proto package segment of k8s.io/api. */
const protoPackageOfGroup: Readonly<Record<string, string>> = {
  '': 'core',
  batch: 'batch',
  apps: 'apps',
  'authorization.k8s.io': 'authorization',
};

let root: protobuf.Root | undefined;
/** Parses the vendored schemas on first use (about 80 KB of .proto), not at server start. */
const loadRoot = (): protobuf.Root => {
  if (root) return root;
  const loading = new protobuf.Root();
  loading.resolvePath = (_origin, target) => join(protoRoot, target);
  loading.loadSync(protoFiles, { keepCase: true });
  loading.resolveAll();
  root = loading;
  return loading;
};

const unsupported = (what: string) =>
  new KubeApiError(
    makeFailureStatus(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - ${what} - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    ),
  );

/** A Go int64 as the JSON side holds it: a number, or a bigint beyond 2^53 (see int64-json.ts). */
const toInt64 = (digits: string): number | bigint => {
  const asNumber = Number(digits);
  return Number.isSafeInteger(asNumber) ? asNumber : BigInt(digits);
};

/** RFC 3339 in UTC, whole seconds (metav1.Time) or microseconds (MicroTime), as Go writes them. */
const toTimeString = (seconds: number, nanos: number, micro: boolean): string => {
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
};

/**
 * One decoded value, by its proto type, into its JSON form; `undefined` drops the field. Go
 * writes every non-pointer field even when empty, where its JSON has `omitempty`: empty strings
 * and zero times are dropped here, which the API server reads the same way.
 */
const toJsonValue = (field: protobuf.Field, value: unknown, inCollection = false): unknown => {
  if (field.resolvedType instanceof protobuf.Type) return toJsonMessage(field.resolvedType, value);
  if (field.resolvedType instanceof protobuf.Enum) return value;
  if (['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(field.type)) {
    return toInt64(String(value));
  }
  // An empty string is a value inside a map or list (`data: {a: ""}`), an unset field outside.
  if (field.type === 'string' && value === '' && !inCollection) return undefined;
  return value;
};

const toJsonMessage = (type: protobuf.Type, message: unknown): unknown => {
  const object = message as Record<string, unknown>;
  switch (type.fullName.slice(1)) {
    case `${meta}.Time`:
    case `${meta}.MicroTime`: {
      const seconds = Number(object.seconds ?? 0);
      const nanos = Number(object.nanos ?? 0);
      if (seconds === 0 && nanos === 0) return undefined;
      return toTimeString(seconds, nanos, type.name === 'MicroTime');
    }
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return Number(object.type ?? 0) === 1 ? (object.strVal ?? '') : Number(object.intVal ?? 0);
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return object.string;
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
    case `${meta}.FieldsV1`: {
      const raw = (object.raw ?? object.Raw) as string | undefined;
      return raw ? JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) : undefined;
    }
  }
  const out: Record<string, unknown> = {};
  // ObjectMeta.generation is a plain int64 Go always writes and its JSON omits when 0.
  const omitZero = type.fullName === `.${meta}.ObjectMeta` ? 'generation' : undefined;
  for (const field of type.fieldsArray) {
    if (field.name === omitZero && Number(object[field.name] ?? 0) === 0) continue;
    const value = object[field.name];
    if (value === undefined) continue;
    let converted: unknown;
    if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      converted = Object.fromEntries(entries.map(([k, v]) => [k, toJsonValue(field, v, true)]));
    } else if (field.repeated) {
      converted = (value as unknown[]).map((item) => toJsonValue(field, item, true) ?? null);
    } else {
      converted = toJsonValue(field, value);
    }
    if (converted !== undefined) out[field.name] = converted;
  }
  return out;
};

/**
 * Decodes a protobuf request body into the object the JSON encoding would give.
 * @throws KubeApiError 400 for a body that is not this encoding; 415 for a kind whose schema the
 *   stand-in does not carry (core/v1, apps/v1, batch/v1 and authorization.k8s.io/v1 are vendored).
 */
export const decodeProtobufBody = (bytes: Buffer): unknown => {
  if (!bytes.subarray(0, 4).equals(magic)) {
    throw makeBadRequestError('the protobuf body does not start with the k8s magic number');
  }
  const types = loadRoot();
  const envelopeType = types.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  const options = { longs: String, bytes: String, defaults: false, arrays: false, objects: false };
  let envelope: { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string };
  try {
    envelope = envelopeType.toObject(envelopeType.decode(bytes.subarray(4)), options);
  } catch (error) {
    throw makeBadRequestError(`error decoding protobuf body: ${(error as Error).message}`);
  }
  const apiVersion = envelope.typeMeta?.apiVersion ?? '';
  const kind = envelope.typeMeta?.kind ?? '';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const protoPackage = protoPackageOfGroup[group ?? ''];
  const objectType = protoPackage
    ? types.lookup(`k8s.io.api.${protoPackage}.${version}.${kind}`)
    : null;
  if (!(objectType instanceof protobuf.Type)) {
    throw unsupported(`no protobuf schema for ${apiVersion} ${kind}`);
  }
  let decoded: unknown;
  try {
    const raw = Buffer.from(envelope.raw ?? '', 'base64');
    decoded = objectType.toObject(objectType.decode(raw), options);
  } catch (error) {
    throw makeBadRequestError(`error decoding protobuf body: ${(error as Error).message}`);
  }
  return { apiVersion, kind, ...(toJsonMessage(objectType, decoded) as object) };
};
