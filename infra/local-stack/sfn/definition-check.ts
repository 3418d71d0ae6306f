/**
 * A fast structural check of an Amazon States Language definition: the problems AWS's
 * `InvalidDefinition` reports most often, found in microseconds.
 *
 * Why not always the interpreter's validator (asl-validator): it compiles its JSON schemas on
 * every call, about a second per state machine, too slow for a local stack that test suites
 * create hundreds of machines on. It stays available as the opt-in full validation.
 */
const stateTypes = new Set([
  'Task',
  'Parallel',
  'Map',
  'Pass',
  'Wait',
  'Choice',
  'Succeed',
  'Fail',
]);

type JsonObject = Record<string, unknown>;

/** Returns every problem found, as `CODE: message at /path` strings; empty means none. */
export const findDefinitionProblems = (definition: JsonObject): string[] => {
  const problems: string[] = [];
  checkMachine(definition, '', problems);
  return problems;
};

const checkMachine = (machine: JsonObject, path: string, problems: string[]): void => {
  const states = machine.States;
  if (typeof machine.StartAt !== 'string') {
    problems.push(`SCHEMA_VALIDATION_FAILED: StartAt must be a string at ${path}/StartAt`);
  }
  if (!isObject(states) || Object.keys(states).length === 0) {
    problems.push(`SCHEMA_VALIDATION_FAILED: States must be a non-empty object at ${path}/States`);
    return;
  }
  const names = new Set(Object.keys(states));
  const target = (name: unknown, at: string): void => {
    if (typeof name !== 'string' || !names.has(name)) {
      problems.push(`MISSING_TRANSITION_TARGET: Missing 'Next' target: ${String(name)} at ${at}`);
    }
  };
  if (typeof machine.StartAt === 'string') target(machine.StartAt, `${path}/StartAt`);
  for (const [name, state] of Object.entries(states)) {
    const at = `${path}/States/${name}`;
    if (name.length > 80) problems.push(`SCHEMA_VALIDATION_FAILED: state name too long at ${at}`);
    if (!isObject(state) || !stateTypes.has(String(state.Type))) {
      problems.push(`SCHEMA_VALIDATION_FAILED: unknown state Type at ${at}/Type`);
      continue;
    }
    const type = state.Type as string;
    if (type === 'Task' && typeof state.Resource !== 'string') {
      problems.push(`SCHEMA_VALIDATION_FAILED: Task needs a Resource at ${at}/Resource`);
    }
    if (type === 'Choice') {
      if (!Array.isArray(state.Choices) || state.Choices.length === 0) {
        problems.push(`SCHEMA_VALIDATION_FAILED: Choice needs Choices at ${at}/Choices`);
      } else {
        state.Choices.forEach((choice, i) => {
          target(isObject(choice) ? choice.Next : undefined, `${at}/Choices/${i}/Next`);
        });
      }
      if (state.Default !== undefined) target(state.Default, `${at}/Default`);
    } else if (type !== 'Succeed' && type !== 'Fail') {
      if (state.End === true && state.Next !== undefined) {
        problems.push(`SCHEMA_VALIDATION_FAILED: a state has either Next or End at ${at}`);
      } else if (state.End !== true) {
        target(state.Next, `${at}/Next`);
      }
    }
    if (Array.isArray(state.Catch)) {
      state.Catch.forEach((catcher, i) => {
        target(isObject(catcher) ? catcher.Next : undefined, `${at}/Catch/${i}/Next`);
      });
    }
    if (type === 'Parallel') {
      if (!Array.isArray(state.Branches) || state.Branches.length === 0) {
        problems.push(`SCHEMA_VALIDATION_FAILED: Parallel needs Branches at ${at}/Branches`);
      } else {
        state.Branches.forEach((branch, i) => {
          if (isObject(branch)) checkMachine(branch, `${at}/Branches/${i}`, problems);
          else
            problems.push(
              `SCHEMA_VALIDATION_FAILED: a branch must be an object at ${at}/Branches/${i}`,
            );
        });
      }
    }
    if (type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (isObject(processor)) checkMachine(processor, `${at}/ItemProcessor`, problems);
      else
        problems.push(
          `SCHEMA_VALIDATION_FAILED: Map needs an ItemProcessor at ${at}/ItemProcessor`,
        );
    }
  }
};

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
