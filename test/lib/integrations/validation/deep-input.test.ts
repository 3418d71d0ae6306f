import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidParametersError } from '../../../../lib/errors.ts';
import { parseKubeCallInput } from '../../../../lib/integrations/kube-call/parse-input.ts';
import { parseRunJobInput } from '../../../../lib/integrations/kube-job/parse-input.ts';

/** A value nested `depth` deep, built without recursion (as JSON.parse would build it). */
const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
};

const refusedPaths = (parse: () => unknown): string[] => {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof InvalidParametersError, String(error));
    return error.problems.map((problem) => problem.path);
  }
  assert.fail('expected EKS.InvalidParameters');
};

describe('input nested 5,000 deep as parsed objects', () => {
  test('an eks:call RequestBody object is refused at its path, not a RangeError', () => {
    const paths = refusedPaths(() =>
      parseKubeCallInput({
        ClusterName: 'c',
        Method: 'POST',
        Path: '/x',
        RequestBody: nested(5000),
      }),
    );
    assert.equal(paths.length, 1);
    assert.match(paths[0] ?? '', /^\$\.RequestBody(\.a)+$/);
  });

  test('a Job object nested in its spec is refused at its path', () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'x' },
      spec: nested(5000),
    };
    const paths = refusedPaths(() => parseRunJobInput({ ClusterName: 'c', Job: job }, true));
    assert.match(paths[0] ?? '', /^\$\.Job\.spec(\.a)+$/);
  });
});
