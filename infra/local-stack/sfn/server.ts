import './promise-with-resolvers.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifySigV4Request } from '../aws-protocol/sigv4-verifier.ts';
import { clientGoneSignal } from '../http/client-gone.ts';
import { FaultQueue, type OperationFaults, operationFaults } from '../http/fault-queue.ts';
import { loopbackEndpoint, startLoopbackServer } from '../http/loopback-server.ts';
import { localRegion } from '../identities.ts';
import { ActivityService } from './activities.ts';
import { ExecutionService } from './executions.ts';
import { makeOperations, throttledOperations } from './operations.ts';
import { parseRequestObject, readBody, SfnServiceError, sendError, sendJson } from './protocol.ts';
import { type ThrottlingConfig, TokenBucket } from './token-bucket.ts';

export type { ThrottlingConfig } from './token-bucket.ts';

export interface StepFunctionsOptions {
  /** @default 0 (a random free port) */
  port?: number;
  /**
   * How long `GetActivityTask` holds a poll when no task comes. Tests shorten it.
   * @default 60_000 (AWS's 60 s)
   */
  longPollHoldMs?: number;
  /** Concurrent `GetActivityTask` pollers per activity. @default 1000 (AWS's quota) */
  maxPollersPerActivity?: number;
  /**
   * Throttling of `GetActivityTask` and `SendTask*` from one shared token bucket. Off unless set.
   * AWS's are 3,000 burst / 500 per second (largest Regions), 1,500 / 300 elsewhere.
   */
  throttling?: ThrottlingConfig;
  /**
   * Also validate definitions with aws-local-stepfunctions' full validator (asl-validator), about
   * a second per `CreateStateMachine`; the fast structural check always runs.
   * @default false
   */
  fullDefinitionValidation?: boolean;
}

/** A fault to answer instead of running an operation, for testing a client's error handling. */
export interface InjectedFault {
  /** The error shape name, e.g. `ServiceUnavailable`, `TaskTimedOut`. */
  type: string;
  /** @default 'Injected fault' */
  message?: string;
  /** @default 500 */
  statusCode?: number;
}

export interface LocalStepFunctions {
  /** `http://127.0.0.1:<port>`, for `endpoint` in the SDK or `--endpoint-url` in the CLI. */
  endpoint: string;
  throttling: {
    /** Turns throttling on (a fresh, full bucket) or changes its settings. */
    enable(config: ThrottlingConfig): void;
    disable(): void;
  };
  faults: OperationFaults<InjectedFault>;
  /** Answers held polls with `{}`, stops running executions and closes the server. */
  close(): Promise<void>;
}

const operationPrefix = 'AWSStepFunctions.';
const maxRequestBytes = 1024 * 1024;

/**
 * Starts the local Step Functions service on 127.0.0.1: AWS JSON 1.0 over plain HTTP, every
 * request SigV4-verified against the local identities, state machines run by
 * aws-local-stepfunctions with activity Task states served to `GetActivityTask` pollers.
 */
export async function startStepFunctions(
  options: StepFunctionsOptions = {},
): Promise<LocalStepFunctions> {
  const activities = new ActivityService({
    longPollHoldMs: options.longPollHoldMs ?? 60_000,
    maxPollersPerActivity: options.maxPollersPerActivity ?? 1000,
  });
  const executions = new ExecutionService(activities, {
    fullDefinitionValidation: options.fullDefinitionValidation ?? false,
  });
  const operations = makeOperations(activities, executions);
  let bucket = options.throttling ? new TokenBucket(options.throttling) : undefined;
  const faults = new FaultQueue<string, InjectedFault>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, maxRequestBytes);
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      throw new SfnServiceError('UnknownOperationException', 'Only POST / is served.', {
        statusCode: 404,
      });
    }
    const verification = await verifySigV4Request(
      { method: req.method, url: req.url ?? '/', headers: req.headers, body },
      { service: 'states', region: localRegion },
    );
    if (!verification.ok) {
      throw new SfnServiceError(verification.code, verification.message, { statusCode: 403 });
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith(operationPrefix) ? target.slice(operationPrefix.length) : '';
    const operation = operations[name];
    if (!operation) {
      throw new SfnServiceError('UnknownOperationException', `Unknown operation '${target}'.`);
    }
    const request = parseRequestObject(body);
    const injected = faults.take(name);
    if (injected) {
      throw new SfnServiceError(injected.type, injected.message ?? 'Injected fault', {
        statusCode: injected.statusCode ?? 500,
      });
    }
    if (bucket && throttledOperations.has(name) && !bucket.tryTake()) {
      throw new SfnServiceError('ThrottlingException', 'Rate exceeded');
    }
    const result = await operation(request, { clientGone: clientGoneSignal(res) });
    sendJson(res, 200, result);
  };

  const listening = await startLoopbackServer(
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (error instanceof SfnServiceError) {
          sendError(res, error);
          return;
        }
        // Never echo the request: it may hold a task token or task output.
        sendError(
          res,
          new SfnServiceError(
            'InternalFailure',
            'Internal failure in the local Step Functions service.',
            { statusCode: 500 },
          ),
        );
      });
    },
    { port: options.port },
  );

  return {
    endpoint: loopbackEndpoint(listening.port),
    throttling: {
      enable: (config) => {
        bucket = new TokenBucket(config);
      },
      disable: () => {
        bucket = undefined;
      },
    },
    faults: operationFaults(faults),
    close: async () => {
      // Held polls are answered first; the server's close lets those answers flush.
      activities.close();
      executions.close();
      await listening.close();
    },
  };
}
