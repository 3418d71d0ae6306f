/**
 * The error the local Lambda service throws for a configuration the Lambda API would refuse,
 * named as the SDK names it, so code written against `@aws-sdk/client-lambda` reads it the same way.
 */
export class InvalidParameterValueException extends Error {
  override readonly name = 'InvalidParameterValueException';
}
