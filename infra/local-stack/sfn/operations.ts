import type { Activity, ActivityService } from './activities.ts';
import type { ExecutionRecord, ExecutionService } from './executions.ts';
import { ExecutionStatus } from './executions.ts';
import { maxJsonDepth, measureJsonDepth } from './json-depth.ts';
import { listPage } from './pagination.ts';
import {
  type ConstraintViolation,
  SfnServiceError,
  toEpochSeconds,
  toValidationError,
} from './protocol.ts';

type Request = Record<string, unknown>;

/** What an operation may need beyond its input: the client going away ends a held poll. */
export interface OperationContext {
  clientGone: AbortSignal;
}

export type Operation = (request: Request, context: OperationContext) => unknown;

/** Step Functions' payload quota, counted in UTF-8 bytes. */
export const maxPayloadBytes = 262_144;
const maxErrorChars = 256;
const maxCauseChars = 32_768;
const maxTaskTokenChars = 2048;
const maxWorkerNameChars = 80;

/** The operations a polling worker uses, which share one throttling bucket in AWS. */
export const throttledOperations: ReadonlySet<string> = new Set([
  'GetActivityTask',
  'SendTaskSuccess',
  'SendTaskFailure',
  'SendTaskHeartbeat',
]);

/** The operations this stand-in answers, by `X-Amz-Target` operation name. */
export const makeOperations = (
  activities: ActivityService,
  executions: ExecutionService,
): Readonly<Record<string, Operation>> => ({
  CreateActivity: (r) => {
    const activity = activities.createActivity(r.name);
    return { activityArn: activity.arn, creationDate: toEpochSeconds(activity.creationDate) };
  },
  DescribeActivity: (r) => toActivitySummary(activities.describeActivity(r.activityArn)),
  ListActivities: (r) => listPage('activities', activities.listActivities(), r, toActivitySummary),
  DeleteActivity: (r) => {
    activities.deleteActivity(r.activityArn);
    return {};
  },
  GetActivityTask: (r, context) => {
    const workerName = optionalString(r, 'workerName');
    assertConstraints([lengthAtMost('workerName', workerName, maxWorkerNameChars)]);
    return activities.poll(r.activityArn, workerName, context.clientGone);
  },
  SendTaskSuccess: (r) => {
    const taskToken = requiredString(r, 'taskToken');
    const output = requiredString(r, 'output');
    assertConstraints([
      lengthAtMost('taskToken', taskToken, maxTaskTokenChars),
      bytesAtMost('output', output, maxPayloadBytes),
    ]);
    if (!isJson(output)) {
      throw new SfnServiceError('InvalidOutput', `Invalid Output: 'Output is not valid JSON'`);
    }
    if (measureJsonDepth(JSON.parse(output)) > maxJsonDepth) {
      throw new SfnServiceError(
        'InvalidOutput',
        `Invalid Output: 'Output is nested deeper than ${maxJsonDepth} levels'`,
      );
    }
    activities.sendSuccess(taskToken, output);
    return {};
  },
  SendTaskFailure: (r) => {
    const taskToken = requiredString(r, 'taskToken');
    const error = optionalString(r, 'error');
    const cause = optionalString(r, 'cause');
    assertConstraints([
      lengthAtMost('taskToken', taskToken, maxTaskTokenChars),
      lengthAtMost('error', error, maxErrorChars),
      lengthAtMost('cause', cause, maxCauseChars),
    ]);
    activities.sendFailure(taskToken, error, cause);
    return {};
  },
  SendTaskHeartbeat: (r) => {
    const taskToken = requiredString(r, 'taskToken');
    assertConstraints([lengthAtMost('taskToken', taskToken, maxTaskTokenChars)]);
    activities.sendHeartbeat(taskToken);
    return {};
  },
  CreateStateMachine: (r) => {
    const machine = executions.createStateMachine({
      name: r.name,
      definition: r.definition,
      roleArn: r.roleArn,
      type: r.type,
    });
    return { stateMachineArn: machine.arn, creationDate: toEpochSeconds(machine.creationDate) };
  },
  DescribeStateMachine: (r) => {
    const machine = executions.describeStateMachine(r.stateMachineArn);
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: machine.definition,
      roleArn: machine.roleArn,
      type: machine.type,
      creationDate: toEpochSeconds(machine.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  },
  ListStateMachines: (r) =>
    listPage('stateMachines', executions.listStateMachines(), r, (m) => ({
      stateMachineArn: m.arn,
      name: m.name,
      type: m.type,
      creationDate: toEpochSeconds(m.creationDate),
    })),
  DeleteStateMachine: (r) => {
    executions.deleteStateMachine(r.stateMachineArn);
    return {};
  },
  StartExecution: (r) => {
    const input = optionalString(r, 'input');
    assertConstraints([bytesAtMost('input', input, maxPayloadBytes)]);
    const execution = executions.startExecution({
      stateMachineArn: r.stateMachineArn,
      name: r.name,
      input,
    });
    return { executionArn: execution.arn, startDate: toEpochSeconds(execution.startDate) };
  },
  DescribeExecution: (r) => toDescribedExecution(executions.describeExecution(r.executionArn)),
  ListExecutions: (r) => {
    const statusFilter = optionalString(r, 'statusFilter');
    if (
      statusFilter !== undefined &&
      !Object.values<string>(ExecutionStatus).includes(statusFilter)
    ) {
      throw new SfnServiceError(
        'ValidationException',
        `1 validation error detected: Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${Object.values(ExecutionStatus).join(', ')}]`,
      );
    }
    return listPage(
      'executions',
      executions.listExecutions(r.stateMachineArn, statusFilter),
      r,
      toExecutionSummary,
    );
  },
  StopExecution: (r) => {
    const error = optionalString(r, 'error');
    const cause = optionalString(r, 'cause');
    assertConstraints([
      lengthAtMost('error', error, maxErrorChars),
      lengthAtMost('cause', cause, maxCauseChars),
    ]);
    const stopDate = executions.stopExecution(r.executionArn, error, cause);
    return { stopDate: toEpochSeconds(stopDate) };
  },
  GetExecutionHistory: (r) => executions.describeExecution(r.executionArn).history.page(r),
});

/** DescribeActivity's answer, and one ListActivities item. */
const toActivitySummary = (activity: Activity): Record<string, unknown> => ({
  activityArn: activity.arn,
  name: activity.name,
  creationDate: toEpochSeconds(activity.creationDate),
});

/** One ListExecutions item; DescribeExecution answers these members and more. */
const toExecutionSummary = (e: ExecutionRecord): Record<string, unknown> => ({
  executionArn: e.arn,
  stateMachineArn: e.stateMachineArn,
  name: e.name,
  status: e.status,
  startDate: toEpochSeconds(e.startDate),
  ...(e.stopDate ? { stopDate: toEpochSeconds(e.stopDate) } : {}),
});

const toDescribedExecution = (e: ExecutionRecord): Record<string, unknown> => ({
  ...toExecutionSummary(e),
  input: e.input,
  inputDetails: { included: true },
  ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
  ...(e.error !== undefined ? { error: e.error } : {}),
  ...(e.cause !== undefined ? { cause: e.cause } : {}),
  redriveCount: 0,
  redriveStatus: 'NOT_REDRIVABLE',
});

const requiredString = (request: Request, member: string): string => {
  const value = request[member];
  if (typeof value !== 'string') {
    throw new SfnServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
};

const optionalString = (request: Request, member: string): string | undefined => {
  const value = request[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new SfnServiceError('SerializationException', `Member '${member}' must be a string.`);
  }
  return value;
};

/** Character counts as AWS's model constraints count them (UTF-16 code units as Java does). */
const lengthAtMost = (
  member: string,
  value: string | undefined,
  max: number,
): ConstraintViolation | undefined =>
  value !== undefined && value.length > max
    ? { member, constraint: `Member must have length less than or equal to ${max}` }
    : undefined;

/** The payload quota is in bytes of UTF-8, not characters. */
const bytesAtMost = (
  member: string,
  value: string | undefined,
  maxBytes: number,
): ConstraintViolation | undefined =>
  value !== undefined && Buffer.byteLength(value, 'utf8') > maxBytes
    ? { member, constraint: `Member must have length less than or equal to ${maxBytes}` }
    : undefined;

const assertConstraints = (checks: readonly (ConstraintViolation | undefined)[]): void => {
  const violations = checks.filter((c): c is ConstraintViolation => c !== undefined);
  if (violations.length > 0) throw toValidationError(violations);
};

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
