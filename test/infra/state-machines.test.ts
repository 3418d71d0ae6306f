/**
 * The seed examples rewritten for the activities (infra/state-machines): up to date with the
 * build, valid Amazon States Language, with placeholders that the stack's outputs fill.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  buildStateMachines,
  defaultOutDir,
  listSubstitutionKeys,
  substitute,
  syncHeartbeatSeconds,
  toActivityStateMachine,
  toPlaceholder,
} from '../../infra/state-machines/build.ts';

const require = createRequire(import.meta.url);
type Validate = (
  definition: unknown,
  options?: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText(): string };
const validateAsl = require('asl-validator') as Validate;
const activities = require('../../infra/serverless/activities.cjs') as {
  activitySuffixes: string[];
  toSubstitutionKey(suffix: string): string;
};

type State = Record<string, unknown>;
type Machine = { States: Record<string, State> };

const built = buildStateMachines();
const readCommitted = (file: string): Machine =>
  JSON.parse(readFileSync(join(defaultOutDir, file), 'utf8')) as Machine;
const taskStates = (machine: Machine) =>
  Object.values(machine.States).filter((state) => state.Type === 'Task');

/** What CloudFormation substitutes: the stage's activity ARN per key. */
const stageArns = Object.fromEntries(
  activities.activitySuffixes.map((suffix) => [
    activities.toSubstitutionKey(suffix),
    `arn:aws:states:us-east-1:123456789012:activity:prod-${suffix}`,
  ]),
);

describe('infra/state-machines', () => {
  test('holds the ten seed examples, each as the build writes it', () => {
    const committed = readdirSync(defaultOutDir)
      .filter((file) => file.endsWith('.asl.json'))
      .sort();
    assert.deepEqual(committed, [...built.keys()]);
    assert.equal(committed.length, 10);
    for (const [file, definition] of built) {
      assert.deepEqual(
        readCommitted(file),
        definition,
        `${file}: npm run state-machines -- test/fixtures/seed-examples infra/state-machines && npm run format`,
      );
    }
  });

  for (const file of built.keys()) {
    test(`${file} is valid Amazon States Language, placeholders and substituted alike`, () => {
      const definition = readCommitted(file);
      // The validator adds QueryLanguage to the states it sees: give it copies.
      const asWritten = validateAsl(structuredClone(definition));
      assert.ok(asWritten.isValid, asWritten.errorsText());
      const deployed = validateAsl(substitute(definition, stageArns), {
        checkArn: true,
        checkPaths: true,
      });
      assert.ok(deployed.isValid, deployed.errorsText());
    });
  }

  test('every native EKS resource became a placeholder the stack outputs provide', () => {
    const provided = new Set(Object.keys(stageArns));
    for (const [file, definition] of built) {
      for (const state of taskStates(definition as Machine)) {
        assert.doesNotMatch(String(state.Resource), /^arn:aws:states:::eks:/, file);
      }
      const keys = listSubstitutionKeys(definition);
      assert.ok(keys.length > 0, file);
      for (const key of keys) assert.ok(provided.has(key), `${file}: ${key}`);
    }
  });

  test('.sync states get HeartbeatSeconds; request-response states do not', () => {
    const native = {
      StartAt: 'Run',
      States: {
        Run: { Type: 'Task', Resource: 'arn:aws:states:::eks:runJob.sync', Next: 'Call' },
        Call: { Type: 'Task', Resource: 'arn:aws:states:::eks:call', End: true },
      },
    };
    const rewritten = toActivityStateMachine(native) as Machine;
    assert.equal(rewritten.States.Run?.HeartbeatSeconds, syncHeartbeatSeconds);
    assert.equal(rewritten.States.Run?.Resource, toPlaceholder('eks-runJob-sync'));
    assert.equal(rewritten.States.Call?.HeartbeatSeconds, undefined);
    assert.equal(rewritten.States.Call?.Resource, toPlaceholder('eks-call'));
  });

  test('a HeartbeatSeconds the author set is kept', () => {
    const native = {
      StartAt: 'Create',
      States: {
        Create: {
          Type: 'Task',
          Resource: 'arn:aws:states:::eks:createCluster.sync',
          HeartbeatSeconds: 300,
          End: true,
        },
      },
    };
    assert.equal((toActivityStateMachine(native) as Machine).States.Create?.HeartbeatSeconds, 300);
  });

  test('states inside Parallel branches and Map processors are rewritten too', () => {
    const inner = {
      StartAt: 'Run',
      States: { Run: { Type: 'Task', Resource: 'arn:aws:states:::eks:runJob.sync', End: true } },
    };
    const native = {
      StartAt: 'Fan out',
      States: {
        'Fan out': { Type: 'Parallel', Branches: [inner], Next: 'Each' },
        Each: { Type: 'Map', ItemProcessor: inner, End: true },
      },
    };
    const text = JSON.stringify(toActivityStateMachine(native));
    assert.doesNotMatch(text, /arn:aws:states:::eks/);
    assert.equal(text.match(/"HeartbeatSeconds":60/g)?.length, 2);
  });

  test('a placeholder without a value is an error, not a silent native ARN', () => {
    assert.throws(
      () => substitute({ Resource: toPlaceholder('eks-call') }, {}),
      /no substitution for \$\{ActivityArn_eks_call\}/,
    );
  });
});
