/**
 * Reads and decodes request bodies the way the API server does: JSON by default, YAML when the
 * content type says so, 400 BadRequest for a body that does not parse, 413 beyond the API server's
 * 3 MiB request limit, protobuf for the built-in types kubectl sends that way (protobuf-body.ts),
 * 415 for encodings we do not speak (CBOR).
 */
import type { IncomingMessage } from 'node:http';
import { readCappedBody } from '../http/request-body.ts';
import { parseInt64Json, parseInt64Yaml } from './int64-json.ts';
import { decodeProtobufBody, protobufMediaType } from './protobuf-body.ts';
import { KubeApiError, makeBadRequestError, makeFailureStatus } from './status.ts';

/** kube-apiserver refuses request bodies larger than 3 MiB. */
export const maxRequestBodyBytes = 3 * 1024 * 1024;

/** The whole body; past 3 MiB, kube-apiserver's 413 Status. */
export const readBodyBytes = (req: IncomingMessage): Promise<Buffer> =>
  readCappedBody(
    req,
    maxRequestBodyBytes,
    () =>
      new KubeApiError(
        makeFailureStatus(
          413,
          'RequestEntityTooLarge',
          'Request entity too large: limit is 3145728',
        ),
      ),
  );

/** The media type of a request, lower-cased, without parameters. */
export const mediaTypeOf = (req: IncomingMessage): string =>
  (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';

const yamlTypes = new Set(['application/yaml', 'application/x-yaml', 'text/yaml']);

/** Decodes a body as JSON or YAML per its content type. */
export function decodeBody(bytes: Buffer, mediaType: string): unknown {
  const text = bytes.toString('utf8');
  if (yamlTypes.has(mediaType)) {
    try {
      return parseInt64Yaml(text);
    } catch (error) {
      throw makeBadRequestError(
        `error converting YAML to JSON: ${(error as Error).message.split('\n')[0]}`,
      );
    }
  }
  if (
    mediaType === 'application/json' ||
    mediaType.endsWith('+json') ||
    mediaType === '' ||
    mediaType === 'text/plain'
  ) {
    try {
      return parseInt64Json(text);
    } catch (error) {
      throw makeBadRequestError(
        `error decoding request body: ${(error as Error).message.split('\n')[0]}`,
      );
    }
  }
  if (mediaType === protobufMediaType) return decodeProtobufBody(bytes);
  throw new KubeApiError(
    makeFailureStatus(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    ),
  );
}
