import { randomUUID } from 'node:crypto';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { ActivityService, ScheduledActivityTask } from './activities.ts';
import { ExecutionHistory } from './history.ts';
import {
  ActivityTaskFailedError,
  type PreparedDefinition,
  parseDefinition,
  prepareDefinition,
  StateMachine,
  StatesRuntimeError,
  type TaskStateInfo,
  TaskTimeoutError,
} from './interpreter.ts';
import { maxJsonDepth, measureJsonDepth } from './json-depth.ts';
import {
  assertValidName,
  findByArn,
  parseActivityArn,
  parseStateMachineArn,
  toExecutionArn,
  toStateMachineArn,
} from './names.ts';
import { SfnServiceError } from './protocol.ts';

export const ExecutionStatus = {
  Running: 'RUNNING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  TimedOut: 'TIMED_OUT',
  Aborted: 'ABORTED',
} as const;
export type ExecutionStatus = (typeof ExecutionStatus)[keyof typeof ExecutionStatus];

export interface StateMachineRecord {
  arn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: string;
  creationDate: Date;
  prepared: PreparedDefinition;
}

export interface ExecutionRecord {
  arn: string;
  name: string;
  stateMachineArn: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  history: ExecutionHistory;
  /**
   * Withdraws each activity task scheduled and not yet answered, when the execution ends: the
   * task is closed (its worker then gets TaskTimedOut) and its Task state is settled, which also
   * clears the interpreter's own timer for that state.
   */
  openTasks: Set<() => void>;
  abort?: () => void;
}

type JsonValue = Parameters<StateMachine['run']>[0];

/**
 * State machines and executions: each execution runs in aws-local-stepfunctions, whose Task
 * states are all routed here; an activity-ARN Task becomes an activity task in the
 * {@link ActivityService} and waits for a worker's answer.
 */
export class ExecutionService {
  private readonly stateMachines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();

  constructor(
    private readonly activities: ActivityService,
    private readonly options: { fullDefinitionValidation: boolean },
  ) {}

  /** Idempotent when name, definition and role are the same, as in AWS. */
  createStateMachine(request: {
    name: unknown;
    definition: unknown;
    roleArn: unknown;
    type?: unknown;
  }): StateMachineRecord {
    const name = assertValidName(request.name);
    if (typeof request.roleArn !== 'string' || request.roleArn.length === 0) {
      throw new SfnServiceError('InvalidArn', `Invalid Arn: 'roleArn is required'`);
    }
    const parsed = parseDefinition(request.definition, this.options.fullDefinitionValidation);
    const definition = request.definition as string;
    const type = request.type === undefined ? 'STANDARD' : String(request.type);
    if (type !== 'STANDARD' && type !== 'EXPRESS') {
      throw new SfnServiceError(
        'ValidationException',
        `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]`,
      );
    }
    const arn = toStateMachineArn(name);
    const existing = this.stateMachines.get(arn);
    if (existing) {
      if (existing.definition === definition && existing.roleArn === request.roleArn)
        return existing;
      throw new SfnServiceError(
        'StateMachineAlreadyExists',
        `State Machine Already Exists: '${arn}'`,
      );
    }
    const record: StateMachineRecord = {
      arn,
      name,
      definition,
      roleArn: request.roleArn,
      type,
      creationDate: new Date(),
      prepared: prepareDefinition(parsed),
    };
    this.stateMachines.set(arn, record);
    return record;
  }

  describeStateMachine(arn: unknown): StateMachineRecord {
    return findByArn(this.stateMachines, arn, 'stateMachine');
  }

  listStateMachines(): StateMachineRecord[] {
    return [...this.stateMachines.values()];
  }

  /** Running executions are stopped, as AWS eventually does for a deleted state machine. */
  deleteStateMachine(arn: unknown): void {
    parseStateMachineArn(arn);
    if (!this.stateMachines.delete(arn as string)) return;
    for (const execution of this.executions.values()) {
      if (execution.stateMachineArn === arn) {
        this.stopExecution(execution.arn, undefined, 'The state machine was deleted.');
      }
    }
  }

  startExecution(request: {
    stateMachineArn: unknown;
    name?: unknown;
    input?: unknown;
  }): ExecutionRecord {
    const machine = this.describeStateMachine(request.stateMachineArn);
    const name = request.name === undefined ? randomUUID() : assertValidName(request.name);
    const input = request.input === undefined ? '{}' : request.input;
    if (typeof input !== 'string') {
      throw new SfnServiceError(
        'InvalidExecutionInput',
        `Invalid Execution Input: 'input must be a string'`,
      );
    }
    let parsedInput: JsonValue;
    try {
      parsedInput = JSON.parse(input) as JsonValue;
    } catch {
      throw new SfnServiceError(
        'InvalidExecutionInput',
        `Invalid Execution Input: 'Input is not valid JSON'`,
      );
    }
    if (measureJsonDepth(parsedInput) > maxJsonDepth) {
      throw new SfnServiceError(
        'InvalidExecutionInput',
        `Invalid Execution Input: 'Input is nested deeper than ${maxJsonDepth} levels'`,
      );
    }
    const arn = toExecutionArn(machine.name, name);
    const existing = this.executions.get(arn);
    if (existing) {
      // AWS: starting the same name with the same input while it still runs is idempotent.
      if (existing.status === ExecutionStatus.Running && existing.input === input) return existing;
      throw new SfnServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const execution: ExecutionRecord = {
      arn,
      name,
      stateMachineArn: machine.arn,
      status: ExecutionStatus.Running,
      startDate: new Date(),
      input,
      history: new ExecutionHistory(),
      openTasks: new Set(),
    };
    this.executions.set(arn, execution);
    execution.history.record('ExecutionStarted', {
      input,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
    });
    this.run(machine, execution, parsedInput);
    return execution;
  }

  describeExecution(arn: unknown): ExecutionRecord {
    return findByArn(this.executions, arn, 'execution');
  }

  /** Newest first, as AWS lists them. */
  listExecutions(stateMachineArn: unknown, statusFilter: unknown): ExecutionRecord[] {
    const machine = this.describeStateMachine(stateMachineArn);
    return [...this.executions.values()]
      .filter((e) => e.stateMachineArn === machine.arn)
      .filter((e) => statusFilter === undefined || e.status === statusFilter)
      .reverse();
  }

  /**
   * Ends a running execution as ABORTED at once and closes its open activity tasks, so a worker's
   * next heartbeat or answer gets `TaskTimedOut`. Stopping an ended execution changes nothing.
   */
  stopExecution(arn: unknown, error: string | undefined, cause: string | undefined): Date {
    const execution = this.describeExecution(arn);
    if (execution.status !== ExecutionStatus.Running) return execution.stopDate ?? new Date();
    this.finish(execution, ExecutionStatus.Aborted, { error, cause });
    execution.history.record('ExecutionAborted', { error, cause });
    execution.abort?.();
    return execution.stopDate ?? new Date();
  }

  /** Stops every running execution (service shutdown) without recording anything more. */
  close(): void {
    for (const execution of this.executions.values()) {
      if (execution.status !== ExecutionStatus.Running) continue;
      this.finish(execution, ExecutionStatus.Aborted, {
        cause: 'The local Step Functions service closed.',
      });
      execution.abort?.();
    }
  }

  private run(machine: StateMachineRecord, execution: ExecutionRecord, input: JsonValue): void {
    const { prepared } = machine;
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const [stateName, info] of prepared.taskStates) {
      handlers[stateName] = (taskInput) => this.runTaskState(execution, info, taskInput);
    }
    const interpreter = new StateMachine(prepared.runnable as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    const run = interpreter.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: execution.arn, Name: execution.name, RoleArn: machine.roleArn },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    execution.abort = run.abort;
    const eventsRecorded = this.recordStateEvents(execution, prepared, run.eventLogs);
    run.result.then(
      async (output) => {
        await eventsRecorded;
        if (execution.status !== ExecutionStatus.Running) return;
        const text = JSON.stringify(output);
        this.finish(execution, ExecutionStatus.Succeeded, { output: text });
        execution.history.record('ExecutionSucceeded', {
          output: text,
          outputDetails: { truncated: false },
        });
      },
      async (failure: unknown) => {
        await eventsRecorded;
        if (execution.status !== ExecutionStatus.Running) return;
        const failureError = failure as Error;
        if (failureError.name === 'ExecutionTimeoutError') {
          const cause = 'The execution ran longer than the state machine TimeoutSeconds.';
          this.finish(execution, ExecutionStatus.TimedOut, { error: 'States.Timeout', cause });
          execution.history.record('ExecutionTimedOut', { error: 'States.Timeout', cause });
          return;
        }
        const stateError = failureError.cause instanceof Error ? failureError.cause : failureError;
        const error = stateError.name || undefined;
        const cause = stateError.message || undefined;
        this.finish(execution, ExecutionStatus.Failed, { error, cause });
        execution.history.record('ExecutionFailed', { error, cause });
      },
    );
  }

  /** Turns the interpreter's state events into history events (`TaskStateEntered`, ...). */
  private async recordStateEvents(
    execution: ExecutionRecord,
    prepared: PreparedDefinition,
    events: AsyncIterable<unknown>,
  ): Promise<void> {
    for await (const item of events) {
      const event = item as Record<string, unknown> & { type: string };
      if (execution.status !== ExecutionStatus.Running) continue;
      const state = event.state as
        | { name: string; type: string; input: unknown; output?: unknown }
        | undefined;
      const parent = event.parentState as { name: string } | undefined;
      switch (event.type) {
        case 'StateEntered':
          if (state) {
            execution.history.record(
              `${prepared.stateTypes.get(state.name) ?? state.type}StateEntered`,
              {
                name: state.name,
                input: JSON.stringify(state.input),
                inputDetails: { truncated: false },
              },
            );
          }
          break;
        case 'StateExited':
          if (state) {
            execution.history.record(
              `${prepared.stateTypes.get(state.name) ?? state.type}StateExited`,
              {
                name: state.name,
                output: JSON.stringify(state.output ?? null),
                outputDetails: { truncated: false },
              },
            );
          }
          break;
        case 'MapIterationStarted':
        case 'MapIterationSucceeded':
        case 'MapIterationFailed':
          execution.history.record(event.type, { name: parent?.name, index: event.index });
          break;
        default:
          break;
      }
    }
  }

  private async runTaskState(
    execution: ExecutionRecord,
    info: TaskStateInfo,
    input: JsonValue,
  ): Promise<JsonValue> {
    // The interpreter calls this handler in the same tick it emits StateEntered; its event stream
    // is drained by microtasks, so after one macrotask the TaskStateEntered event is recorded and
    // ActivityScheduled lands after it, in AWS's order.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (execution.status !== ExecutionStatus.Running) {
      throw new StatesRuntimeError('The execution is no longer running.');
    }
    if (!isActivityArn(info.resource)) {
      throw new StatesRuntimeError(
        `The local Step Functions service runs only activity Task states, not '${info.resource}'.`,
      );
    }
    if (!this.activities.hasActivity(info.resource)) {
      const cause = `Activity Does Not Exist: '${info.resource}'`;
      execution.history.record('ActivityScheduleFailed', { error: 'States.Runtime', cause });
      throw new StatesRuntimeError(cause);
    }
    const inputText = JSON.stringify(input);
    execution.history.record('ActivityScheduled', {
      resource: info.resource,
      input: inputText,
      inputDetails: { truncated: false },
      timeoutInSeconds: info.timeoutSeconds,
      heartbeatInSeconds: info.heartbeatSeconds,
    });
    return new Promise<JsonValue>((resolve, reject) => {
      let task: ScheduledActivityTask | undefined;
      const withdraw = (): void => {
        task?.close();
        reject(new StatesRuntimeError('The execution is no longer running.'));
      };
      task = this.activities.schedule({
        activityArn: info.resource,
        input: inputText,
        ...(info.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: info.heartbeatSeconds }),
        ...(info.timeoutSeconds === undefined ? {} : { timeoutSeconds: info.timeoutSeconds }),
        listener: {
          onStarted: (workerName) => {
            execution.history.record('ActivityStarted', { workerName });
          },
          onSucceeded: (output) => {
            execution.openTasks.delete(withdraw);
            execution.history.record('ActivitySucceeded', {
              output,
              outputDetails: { truncated: false },
            });
            resolve(JSON.parse(output) as JsonValue);
          },
          onFailed: (error, cause) => {
            execution.openTasks.delete(withdraw);
            execution.history.record('ActivityFailed', { error, cause });
            reject(new ActivityTaskFailedError(error, cause));
          },
          onTimedOut: (kind) => {
            execution.openTasks.delete(withdraw);
            const error = kind === 'heartbeat' ? 'States.HeartbeatTimeout' : 'States.Timeout';
            const cause =
              kind === 'heartbeat'
                ? `No heartbeat within HeartbeatSeconds (${info.heartbeatSeconds} s).`
                : `The task ran longer than TimeoutSeconds (${info.timeoutSeconds} s).`;
            execution.history.record('ActivityTimedOut', { error, cause });
            reject(new TaskTimeoutError(error, cause));
          },
        },
      });
      execution.openTasks.add(withdraw);
    });
  }

  private finish(
    execution: ExecutionRecord,
    status: ExecutionStatus,
    result: { output?: string; error?: string | undefined; cause?: string | undefined },
  ): void {
    execution.status = status;
    execution.stopDate = new Date();
    if (result.output !== undefined) execution.output = result.output;
    if (result.error !== undefined) execution.error = result.error;
    if (result.cause !== undefined) execution.cause = result.cause;
    const withdrawals = [...execution.openTasks];
    execution.openTasks.clear();
    for (const withdraw of withdrawals) withdraw();
  }
}

const isActivityArn = (resource: string): boolean => {
  try {
    parseActivityArn(resource);
    return true;
  } catch {
    return false;
  }
};
