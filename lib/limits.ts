/**
 * The size limits of the AWS services the worker answers through. Every check and every budget
 * (the outcome boundary, the runJob log budget, the hand-off message) reads them from here.
 */

/** Step Functions' limits on what an activity sends back (contract §5). */
export const SfnLimits = {
  /** SendTaskSuccess `output`, counted in bytes of UTF-8. */
  maxOutputBytes: 262_144,
  /** SendTaskFailure `error`, in characters. */
  maxErrorChars: 256,
  /** SendTaskFailure `cause`, in characters. */
  maxCauseChars: 32_768,
} as const;

/** SQS's limit on a message body (the hand-off queue), in bytes. */
export const SqsLimits = {
  maxMessageBytes: 262_144,
} as const;
