import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InputProblem } from '../../../../lib/errors.ts';
import { checkLogParameters } from '../../../../lib/integrations/kube-job/log-parameters.ts';

const check = (parameters: Record<string, unknown>) => {
  const problems: InputProblem[] = [];
  const checked = checkLogParameters(parameters, '$.P', problems);
  for (const problem of problems) assert.equal(typeof problem.message, 'string', problem.path);
  return { checked, paths: problems.map((p) => p.path) };
};

describe('pod log parameters', () => {
  test('valid values pass, integers in canonical form', () => {
    const { checked, paths } = check({
      tailLines: ['+6'],
      limitBytes: ['1024'],
      sinceSeconds: ['60'],
      timestamps: ['true'],
      previous: ['False'],
      stream: ['All'],
    });
    assert.deepEqual(paths, []);
    assert.deepEqual(checked.tailLines, ['6']);
    assert.deepEqual(check({ sinceTime: ['2026-01-02T03:04:05.123Z'] }).paths, []);
    assert.deepEqual(check({ tailLines: ['0'] }).paths, []);
  });

  test('values the Kubernetes API refuses or reads differently are refused with their path', () => {
    for (const [parameters, path] of [
      [{ tailLines: ['-5'] }, '$.P.tailLines[0]'],
      [{ tailLines: ['abc'] }, '$.P.tailLines[0]'],
      [{ tailLines: ['99999999999999999999'] }, '$.P.tailLines[0]'],
      [{ tailLines: ['9223372036854775808'] }, '$.P.tailLines[0]'],
      [{ tailLines: ['1.5'] }, '$.P.tailLines[0]'],
      [{ tailLines: [''] }, '$.P.tailLines[0]'],
      [{ tailLines: ['1', '2'] }, '$.P.tailLines'],
      [{ tailLines: [] }, '$.P.tailLines'],
      [{ tailLines: 5 }, '$.P.tailLines'],
      [{ limitBytes: ['0'] }, '$.P.limitBytes[0]'],
      [{ sinceSeconds: ['0'] }, '$.P.sinceSeconds[0]'],
      [{ sinceTime: ['yesterday'] }, '$.P.sinceTime[0]'],
      [{ sinceTime: ['2026-13-45T99:00:00Z'] }, '$.P.sinceTime[0]'],
      [{ timestamps: ['yes'] }, '$.P.timestamps[0]'],
      [{ previous: ['2'] }, '$.P.previous[0]'],
      [{ stream: ['stdout'] }, '$.P.stream[0]'],
      [{ stream: ['Stdout'], tailLines: ['5'] }, '$.P.stream'],
      [{ sinceSeconds: ['5'], sinceTime: ['2026-01-02T03:04:05Z'] }, '$.P'],
      [{ container: ['main'] }, '$.P.container'],
      [{ follow: ['true'] }, '$.P.follow'],
      [{ tailine: ['5'] }, '$.P.tailine'],
      [{ 'tail lines': ['5'] }, '$.P["tail lines"]'],
      [{ constructor: ['5'] }, '$.P.constructor'],
      [{ toString: ['5'] }, '$.P.toString'],
    ] as const) {
      assert.deepEqual(check(parameters).paths, [path], JSON.stringify(parameters));
    }
  });
});
