/**
 * The modelled EKS API exceptions, as the REST-JSON protocol carries them: an HTTP status, an
 * `x-amzn-ErrorType` header naming the shape, and a JSON body with `message` plus the shape's
 * other members (`clusterName`, `nodegroupName`, ...). The AWS SDK picks the exception class from
 * the header and copies the body members onto it, so both must be exact.
 */

/** Exception shape names and the HTTP status the EKS model gives each (`@httpError`). */
export const EksErrorCode = {
  InvalidParameterException: 400,
  InvalidRequestException: 400,
  ResourceInUseException: 409,
  ResourceNotFoundException: 404,
  ResourceLimitExceededException: 400,
  ServerException: 500,
  ServiceUnavailableException: 503,
  ThrottlingException: 429,
  // Not EKS shapes: the front door of every AWS service answers these before the operation runs.
  UnknownOperationException: 404,
  SerializationException: 400,
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 403,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
} as const;

export type EksErrorCode = keyof typeof EksErrorCode;

/** Extra members some exception shapes carry next to `message`. */
export interface EksErrorFields {
  clusterName?: string;
  nodegroupName?: string;
  fargateProfileName?: string;
}

/** Thrown by the control plane; the HTTP layer turns it into the error answer. */
export class EksApiError extends Error {
  readonly code: EksErrorCode;
  readonly fields: EksErrorFields;

  constructor(code: EksErrorCode, message: string, fields: EksErrorFields = {}) {
    super(message);
    this.name = 'EksApiError';
    this.code = code;
    this.fields = fields;
  }

  get statusCode(): number {
    return EksErrorCode[this.code];
  }

  /** The JSON body: `message` first, as EKS writes it, then the shape's other members. */
  toBody(): Record<string, string> {
    return { message: this.message, ...definedOnly(this.fields) };
  }
}

const definedOnly = (fields: EksErrorFields): Record<string, string> =>
  Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

export const invalidParameter = (message: string, fields?: EksErrorFields): EksApiError =>
  new EksApiError('InvalidParameterException', message, fields);

export const invalidRequest = (message: string, fields?: EksErrorFields): EksApiError =>
  new EksApiError('InvalidRequestException', message, fields);

export const resourceInUse = (message: string, fields?: EksErrorFields): EksApiError =>
  new EksApiError('ResourceInUseException', message, fields);

export const resourceNotFound = (message: string, fields?: EksErrorFields): EksApiError =>
  new EksApiError('ResourceNotFoundException', message, fields);

/** The messages EKS itself uses for a missing resource (the trailing period is EKS's). */
export const clusterNotFound = (clusterName: string): EksApiError =>
  resourceNotFound(`No cluster found for name: ${clusterName}.`, { clusterName });

export const nodegroupNotFound = (clusterName: string, nodegroupName: string): EksApiError =>
  resourceNotFound(`No node group found for name: ${nodegroupName}.`, {
    clusterName,
    nodegroupName,
  });

export const fargateProfileNotFound = (
  clusterName: string,
  fargateProfileName: string,
): EksApiError =>
  resourceNotFound(`No Fargate Profile found with name: ${fargateProfileName}.`, {
    clusterName,
    fargateProfileName,
  });
