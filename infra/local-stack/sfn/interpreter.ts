import './promise-with-resolvers.ts';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { findDefinitionProblems } from './definition-check.ts';
import { SfnServiceError } from './protocol.ts';

type JsonObject = Record<string, unknown>;

/** What the service needs to know about one Task state to schedule its work. */
export interface TaskStateInfo {
  resource: string;
  heartbeatSeconds?: number;
  timeoutSeconds?: number;
}

/** A definition made ready for the interpreter, with its Task states indexed by name. */
export interface PreparedDefinition {
  /** What the interpreter runs (see {@link prepareDefinition} for the rewrites). */
  runnable: StateMachineDefinition;
  /** State names are unique across a whole state machine (nested ones included), as in AWS. */
  taskStates: ReadonlyMap<string, TaskStateInfo>;
  /** State name -> type, for naming history events (`TaskStateEntered`, `PassStateExited`). */
  stateTypes: ReadonlyMap<string, string>;
}

/**
 * Parses and validates a definition as `CreateStateMachine` does and answers `InvalidDefinition`
 * like AWS: always a fast structural check; with `fullValidation`, also the interpreter's own
 * validator (asl-validator: JSON schemas, paths, ARNs), which costs about a second per call.
 */
export const parseDefinition = (text: unknown, fullValidation = false): JsonObject => {
  if (typeof text !== 'string') {
    throw new SfnServiceError(
      'InvalidDefinition',
      `Invalid State Machine Definition: 'definition is required'`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SfnServiceError(
      'InvalidDefinition',
      `Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ${(error as Error).message}'`,
    );
  }
  if (!isObject(parsed) || typeof parsed.StartAt !== 'string' || !isObject(parsed.States)) {
    throw new SfnServiceError(
      'InvalidDefinition',
      `Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: the definition must be an object with StartAt and States'`,
    );
  }
  const problems = findDefinitionProblems(parsed);
  if (problems.length > 0) {
    throw new SfnServiceError(
      'InvalidDefinition',
      `Invalid State Machine Definition: '${problems.join(', ')}'`,
    );
  }
  if (!fullValidation) return parsed;
  try {
    new StateMachine(parsed as unknown as StateMachineDefinition);
  } catch (error) {
    const detail = (error as Error).message.replace(/^[^\n]*\n\s*/, '').replaceAll('\n', '; ');
    throw new SfnServiceError('InvalidDefinition', `Invalid State Machine Definition: '${detail}'`);
  }
  return parsed;
};

/**
 * Rewrites a validated definition for the interpreter:
 * - Task `TimeoutSeconds`/`HeartbeatSeconds` are enforced by the activity service from the moment
 *   a worker takes the task, so the interpreter's own clock (which starts at state entry and
 *   defaults to 60 s) is pushed out of reach.
 * - AWS's `States.Timeout` matcher also matches a missed heartbeat; the interpreter matches one
 *   name per error, so every `ErrorEquals` naming `States.Timeout` also gets
 *   `States.HeartbeatTimeout`.
 */
export const prepareDefinition = (definition: JsonObject): PreparedDefinition => {
  const runnable = structuredClone(definition);
  const taskStates = new Map<string, TaskStateInfo>();
  const stateTypes = new Map<string, string>();
  visitStates(runnable, (name, state) => {
    stateTypes.set(name, String(state.Type));
    if (state.Type !== 'Task') return;
    taskStates.set(name, {
      resource: String(state.Resource),
      ...(typeof state.HeartbeatSeconds === 'number'
        ? { heartbeatSeconds: state.HeartbeatSeconds }
        : {}),
      ...(typeof state.TimeoutSeconds === 'number' ? { timeoutSeconds: state.TimeoutSeconds } : {}),
    });
    state.TimeoutSeconds = interpreterTaskTimeoutSeconds;
    delete state.TimeoutSecondsPath;
    delete state.HeartbeatSeconds;
    delete state.HeartbeatSecondsPath;
    for (const field of ['Retry', 'Catch'] as const) {
      const matchers = state[field];
      if (!Array.isArray(matchers)) continue;
      for (const matcher of matchers as JsonObject[]) {
        const names = matcher.ErrorEquals;
        if (
          Array.isArray(names) &&
          names.includes('States.Timeout') &&
          !names.includes('States.HeartbeatTimeout')
        ) {
          names.push('States.HeartbeatTimeout');
        }
      }
    }
  });
  return {
    runnable: runnable as unknown as StateMachineDefinition,
    taskStates,
    stateTypes,
  };
};

/** About 23 days: beyond any test, and below Node's 2^31-1 ms timer ceiling. */
const interpreterTaskTimeoutSeconds = 2_000_000;

const visitStates = (
  machine: JsonObject,
  visit: (name: string, state: JsonObject) => void,
): void => {
  const states = machine.States;
  if (!isObject(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) continue;
    visit(name, state);
    if (Array.isArray(state.Branches)) {
      for (const branch of state.Branches) if (isObject(branch)) visitStates(branch, visit);
    }
    for (const key of ['Iterator', 'ItemProcessor'] as const) {
      const nested = state[key];
      if (isObject(nested)) visitStates(nested, visit);
    }
  }
};

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The interpreter's `States.Timeout` class, which it does not export. Its `States.TaskFailed`
 * matcher skips exactly the errors that are instances of it, as AWS's `States.TaskFailed` skips
 * timeouts; our timeout errors must be instances too. Captured once by letting a throwaway
 * one-state machine time out after 1 ms.
 */
const loadStatesTimeoutErrorClass = async (): Promise<new () => Error> => {
  const probe = new StateMachine(
    {
      StartAt: 'Probe',
      States: { Probe: { Type: 'Task', Resource: 'probe', TimeoutSeconds: 0.001, End: true } },
    } as unknown as StateMachineDefinition,
    { validationOptions: { noValidate: true } },
  );
  try {
    await probe.run(
      {},
      {
        overrides: { taskResourceLocalHandlers: { Probe: () => new Promise<never>(() => {}) } },
      },
    ).result;
  } catch (error) {
    const timeout = (error as Error).cause;
    if (timeout instanceof Error && timeout.name === 'States.Timeout') {
      return timeout.constructor as new () => Error;
    }
  }
  throw new Error('aws-local-stepfunctions did not produce its States.Timeout error');
};

const StatesTimeoutError = await loadStatesTimeoutErrorClass();

/**
 * A task clock ran out: `States.Timeout` (TimeoutSeconds) or `States.HeartbeatTimeout`
 * (HeartbeatSeconds). `States.TaskFailed` does not match either, as in AWS.
 */
export class TaskTimeoutError extends StatesTimeoutError {
  constructor(errorName: 'States.Timeout' | 'States.HeartbeatTimeout', cause: string) {
    super();
    this.name = errorName;
    this.message = cause;
  }
}

/** A worker's `SendTaskFailure`: the state fails with exactly that error name and cause. */
export class ActivityTaskFailedError extends Error {
  constructor(errorName: string | undefined, cause: string | undefined) {
    super(cause ?? '');
    this.name = errorName ?? '';
  }
}

/**
 * A failure no Retry or Catch may handle (the interpreter reads these two flags), like AWS's
 * `States.Runtime`: e.g. a Task whose resource this local stack cannot run.
 */
export class StatesRuntimeError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;

  constructor(message: string) {
    super(message);
    this.name = 'States.Runtime';
  }
}

export { StateMachine };
