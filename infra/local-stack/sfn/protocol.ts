import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendAwsAnswer } from '../http/aws-answer.ts';
import { parseJsonObjectBody, readCappedBody } from '../http/request-body.ts';

/** The AWS JSON 1.0 content type Step Functions speaks. */
export const jsonContentType = 'application/x-amz-json-1.0';

/**
 * A modelled Step Functions error. `type` is the shape name the SDK maps to an exception class
 * (`TaskTimedOut`, `InvalidToken`, ...); unmodelled names (`ThrottlingException`) still reach the
 * SDK as a generic `SFNServiceException` with that name.
 */
export class SfnServiceError extends Error {
  readonly type: string;
  readonly statusCode: number;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    type: string,
    message: string,
    options: { statusCode?: number; extra?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'SfnServiceError';
    this.type = type;
    this.statusCode = options.statusCode ?? 400;
    this.extra = options.extra ?? {};
  }
}

/** One violated length/range constraint, reported the way AWS's request validation words it. */
export interface ConstraintViolation {
  member: string;
  constraint: string;
}

/** AWS's `ValidationException` wording: "1 validation error detected: Value at 'x' failed ...". */
export const toValidationError = (violations: readonly ConstraintViolation[]): SfnServiceError => {
  const count = violations.length;
  const details = violations
    .map((v) => `Value at '${v.member}' failed to satisfy constraint: ${v.constraint}`)
    .join('; ');
  return new SfnServiceError(
    'ValidationException',
    `${count} validation error${count === 1 ? '' : 's'} detected: ${details}`,
  );
};

/** Reads a whole request body; Step Functions requests are small JSON documents. */
export const readBody = (req: IncomingMessage, maxBytes: number): Promise<Buffer> =>
  readCappedBody(
    req,
    maxBytes,
    () =>
      new SfnServiceError('SerializationException', 'Request body is too large.', {
        statusCode: 413,
      }),
  );

/** Parses a JSON 1.0 request body: an object, or `{}` when empty. */
export const parseRequestObject = (body: Buffer): Record<string, unknown> =>
  parseJsonObjectBody(body, {
    notJson: () => new SfnServiceError('SerializationException', 'Request body is not valid JSON.'),
    notObject: () =>
      new SfnServiceError('SerializationException', 'Request body must be a JSON object.'),
  });

export const sendJson = (res: ServerResponse, statusCode: number, body: unknown): void =>
  sendAwsAnswer(res, statusCode, jsonContentType, JSON.stringify(body));

export const sendError = (res: ServerResponse, error: SfnServiceError): void => {
  // The SDK reads the shape name from `__type` (anything after a `#` is the name).
  sendJson(res, error.statusCode, { __type: error.type, message: error.message, ...error.extra });
};

/** JSON 1.0 timestamps are epoch seconds, fractions allowed. */
export const toEpochSeconds = (date: Date): number => date.getTime() / 1000;
