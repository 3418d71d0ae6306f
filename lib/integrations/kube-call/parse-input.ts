/**
 * Validation of an `eks:call` task input (contract §2.1). Every problem is collected with its
 * field path, so one failed execution shows everything to fix.
 */
import { type InputProblem, InvalidParametersError } from '../../errors.ts';
import type { QueryParameters } from '../../kube/client.ts';
import type { ClusterTarget } from '../../kube/cluster-target.ts';
import { readClusterTarget } from '../validation/cluster-target.ts';
import { findTooDeepText, findTooDeepValue } from '../validation/input-depth.ts';
import { findPathProblem } from './path-grammar.ts';

export const kubeCallMethods = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH'] as const;
export type KubeCallMethod = (typeof kubeCallMethods)[number];

/** A valid `eks:call` input. `requestBody` is absent when the input has no `RequestBody`. */
export interface KubeCallInput {
  cluster: ClusterTarget;
  method: KubeCallMethod;
  path: string;
  queryParameters?: QueryParameters;
  /** A JSON value or a string, as given. */
  requestBody?: unknown;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `$.QueryParameters.labelSelector`, or the bracket form for keys that are not identifiers. */
const childPath = (parent: string, key: string): string =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;

const describeType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/** Returns the typed input or throws {@link InvalidParametersError} listing every problem. */
export function parseKubeCallInput(input: unknown): KubeCallInput {
  if (!isPlainObject(input)) {
    throw new InvalidParametersError([
      { path: '$', message: `must be a JSON object, got ${describeType(input)}` },
    ]);
  }
  const problems: InputProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });

  const { Method, Path, QueryParameters } = input;

  const cluster = readClusterTarget(input, problems);

  if (Method === undefined) problem('$.Method', 'is required');
  else if (!kubeCallMethods.includes(Method as KubeCallMethod)) {
    problem('$.Method', `must be one of ${kubeCallMethods.join(', ')}`);
  }

  if (Path === undefined) problem('$.Path', 'is required');
  else if (typeof Path !== 'string') problem('$.Path', 'must be a string starting with /');
  else {
    const pathProblem = findPathProblem(Path);
    if (pathProblem !== undefined) problem('$.Path', pathProblem);
  }

  if (QueryParameters !== undefined) {
    if (!isPlainObject(QueryParameters)) {
      problem('$.QueryParameters', 'must be an object mapping names to lists of strings');
    } else {
      for (const [key, values] of Object.entries(QueryParameters)) {
        const path = childPath('$.QueryParameters', key);
        if (!Array.isArray(values)) {
          problem(path, 'must be a list of strings');
          continue;
        }
        values.forEach((value, index) => {
          if (typeof value !== 'string') problem(`${path}[${index}]`, 'must be a string');
        });
      }
    }
  }

  if ('RequestBody' in input && (Method === 'GET' || Method === 'HEAD')) {
    problem('$.RequestBody', `must be absent for ${Method}`);
  }
  const tooDeep =
    typeof input.RequestBody === 'string'
      ? findTooDeepText(input.RequestBody, '$.RequestBody')
      : findTooDeepValue(input.RequestBody, '$.RequestBody');
  if (tooDeep !== undefined) problems.push(tooDeep);

  if (problems.length > 0 || cluster === undefined) throw new InvalidParametersError(problems);
  return {
    cluster,
    method: Method as KubeCallMethod,
    path: Path as string,
    ...(QueryParameters === undefined
      ? {}
      : { queryParameters: QueryParameters as QueryParameters }),
    ...('RequestBody' in input ? { requestBody: input.RequestBody } : {}),
  };
}
