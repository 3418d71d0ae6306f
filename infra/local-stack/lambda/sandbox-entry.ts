/**
 * The program one sandbox runs (a child process started by `sandbox.ts` under tsx): the local
 * stand-in for Lambda's Node.js runtime. It imports the handler module once (the init phase, as a
 * cold start does), then runs one invocation at a time as the parent sends them, with a context
 * object shaped like Lambda's.
 *
 * Arguments: the handler module's file URL and the export name. The function's configuration
 * (name, version, memory, log group and stream) comes from the `AWS_LAMBDA_*` variables, where
 * Lambda's own runtime reads it too.
 */
import process from 'node:process';
import {
  type FunctionError,
  type InvokeRequest,
  type SandboxReply,
  toFunctionError,
} from './sandbox-protocol.ts';

type Handler = (event: unknown, context: unknown, callback?: unknown) => unknown;

const send = (reply: SandboxReply): void => {
  process.send?.(reply);
};

// Lambda reports the peak resident memory of the sandbox ("Max Memory Used"); maxRSS is in KiB.
const maxMemoryUsedMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

const loadHandler = async (
  moduleUrl: string,
  exportName: string,
): Promise<Handler | FunctionError> => {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    const cause = toFunctionError(error);
    return { ...cause, errorType: 'Runtime.ImportModuleError', errorMessage: cause.errorMessage };
  }
  // A CommonJS module imported from ESM carries its exports on `default`.
  const fromDefault = (loaded.default as Record<string, unknown> | undefined)?.[exportName];
  const handler = loaded[exportName] ?? fromDefault;
  if (typeof handler !== 'function') {
    return {
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${moduleUrl}.${exportName} is undefined or not exported`,
    };
  }
  return handler as Handler;
};

const makeContext = (request: InvokeRequest) => {
  const env = process.env;
  return {
    // Async handlers return when their promise settles whatever this says; it is here because
    // handlers and middlewares (middy) read or set it.
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: request.invokedFunctionArn,
    // A string in Lambda's Node.js runtime, not a number.
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
    awsRequestId: request.requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    // Unclamped, as the runtime computes it: the parent ends the sandbox at the deadline anyway.
    getRemainingTimeInMillis: (): number => request.deadlineEpochMs - Date.now(),
  };
};

/** Runs the handler whether it returns a promise (async) or answers through the callback. */
const runHandler = (handler: Handler, event: unknown, context: unknown): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const callback = (error: unknown, result: unknown): void => {
      if (error !== null && error !== undefined) reject(error);
      else resolve(result);
    };
    try {
      const returned = handler(event, context, callback);
      if (typeof (returned as Promise<unknown> | undefined)?.then === 'function') {
        (returned as Promise<unknown>).then(resolve, reject);
      } else if (handler.length < 3) {
        resolve(returned);
      }
    } catch (error) {
      reject(error);
    }
  });

const invoke = async (handler: Handler, request: InvokeRequest): Promise<void> => {
  let result: unknown;
  try {
    result = await runHandler(handler, request.event, makeContext(request));
  } catch (error) {
    send({
      type: 'error',
      requestId: request.requestId,
      error: toFunctionError(error),
      maxMemoryUsedMb: maxMemoryUsedMb(),
    });
    return;
  }
  let payloadJson: string;
  try {
    payloadJson = JSON.stringify(result) ?? 'null';
  } catch (error) {
    const cause = toFunctionError(error);
    send({
      type: 'error',
      requestId: request.requestId,
      error: { errorType: 'Runtime.MarshalError', errorMessage: cause.errorMessage },
      maxMemoryUsedMb: maxMemoryUsedMb(),
    });
    return;
  }
  send({
    type: 'result',
    requestId: request.requestId,
    payloadJson,
    maxMemoryUsedMb: maxMemoryUsedMb(),
  });
};

const main = async (): Promise<void> => {
  const [moduleUrl, exportName] = process.argv.slice(2);
  if (!moduleUrl || !exportName) throw new Error('usage: sandbox-entry <module-url> <export>');
  // Without a parent there is no one to serve: end rather than linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  const startedAt = performance.now();
  const loaded = await loadHandler(moduleUrl, exportName);
  if (typeof loaded !== 'function') {
    send({ type: 'init-error', error: loaded });
    return;
  }
  process.on('message', (message: InvokeRequest) => {
    if (message?.type === 'invoke') void invoke(loaded, message);
  });
  send({ type: 'ready', initDurationMs: performance.now() - startedAt });
};

void main();
