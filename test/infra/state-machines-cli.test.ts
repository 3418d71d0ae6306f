/**
 * `npm run state-machines` as a user runs it: never overwrites anything unasked, says how to use it,
 * reads and writes YAML as well as JSON, and fills the deployed ARNs from the stack's outputs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  buildStateMachines,
  defaultOutDir,
  defaultSourceDir,
} from '../../infra/state-machines/build.ts';
import { runStateMachinesCli } from '../../infra/state-machines/cli.ts';
import { allActivitySuffixes } from '../../infra/state-machines/native-resources.ts';

const scratch = mkdtempSync(join(tmpdir(), 'state-machines-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const run = (argv: string[], stdin = '') => {
  let stdout = '';
  let stderr = '';
  const code = runStateMachinesCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: () => stdin,
  });
  return { code, stdout, stderr };
};

const seed = (file: string) => join(defaultSourceDir, file);
const arnOf = (stage: string, suffix: string) =>
  `arn:aws:states:eu-west-1:123456789012:activity:${stage}-${suffix}`;
/** What `aws cloudformation describe-stacks --stack-name eks-activity-worker-prod` prints. */
const describeStacks = (stage: string) => ({
  Stacks: [
    {
      StackName: `eks-activity-worker-${stage}`,
      Outputs: [
        { OutputKey: 'HandOffQueueUrl', OutputValue: 'https://sqs.eu-west-1.amazonaws.com/1/q' },
        ...allActivitySuffixes.map((suffix) => ({
          OutputKey: `Activity${suffix.replaceAll('-', '')}Arn`,
          OutputValue: arnOf(stage, suffix),
          ExportName: `eks-activity-worker-${stage}-Activity${suffix.replaceAll('-', '')}Arn`,
        })),
      ],
    },
  ],
});

describe('npm run state-machines', () => {
  test('without arguments it prints the usage, exits 2 and writes nothing', async () => {
    const before = readdirSync(defaultOutDir).map((f) =>
      readFileSync(join(defaultOutDir, f), 'utf8'),
    );
    // The real npm script, as the README shows it.
    const result = await promisify(execFile)('npm', ['run', '-s', 'state-machines'], {
      cwd: new URL('../..', import.meta.url).pathname,
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    assert.equal('code' in result ? result.code : 0, 2);
    assert.match(result.stderr, /^Usage: npm run state-machines/m);
    const afterRun = readdirSync(defaultOutDir).map((f) =>
      readFileSync(join(defaultOutDir, f), 'utf8'),
    );
    assert.deepEqual(afterRun, before);
  });

  test('--help prints the usage and exits 0', () => {
    const { code, stdout } = run(['--help']);
    assert.equal(code, 0);
    assert.match(
      stdout,
      /^Usage: npm run state-machines -- \[--outputs <file>\] <source> \[<out-dir>\]/,
    );
    assert.match(stdout, /describe-stacks/);
  });

  test('a missing source, an empty folder, or a folder without an output folder: one clear line, exit 1', () => {
    const missing = run([join(scratch, 'no-such-folder'), join(scratch, 'out')]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `state-machines: no such file or folder: ${join(scratch, 'no-such-folder')}\n`,
    );

    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    assert.match(
      run([empty, join(scratch, 'out')]).stderr,
      /no definitions \(\*\.json, \*\.yaml, \*\.yml\) in/,
    );

    const folderOnly = run([defaultSourceDir]);
    assert.equal(folderOnly.code, 1);
    assert.match(folderOnly.stderr, /is a folder: name an output folder/);
  });

  test('a file that is not a definition is named, not a stack trace', () => {
    const notDefinition = join(scratch, 'package.json');
    writeFileSync(notDefinition, '{"name": "x"}');
    const { code, stderr } = run([notDefinition]);
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `state-machines: ${notDefinition}: not a state machine definition (no "States")\n`,
    );
  });

  test('one file goes to standard output, rewritten with placeholders', () => {
    const file = '01-runjob-sync-with-logs.asl.json';
    const { code, stdout } = run([seed(file)]);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), buildStateMachines().get(file));
    assert.match(stdout, /"Resource": "\$\{ActivityArn_eks_runJob_sync\}"/);
  });

  test('a folder is written to the output folder, file for file, as the build rewrites it', () => {
    const out = join(scratch, 'out-json');
    const { code, stdout } = run([defaultSourceDir, out]);
    assert.equal(code, 0);
    assert.match(stdout, /^wrote 10 state machine\(s\) to /);
    for (const [file, definition] of buildStateMachines()) {
      assert.deepEqual(JSON.parse(readFileSync(join(out, file), 'utf8')), definition, file);
    }
  });

  test('YAML definitions are read and written as YAML', () => {
    const yamlDir = join(scratch, 'yaml');
    mkdirSync(yamlDir);
    const native = JSON.parse(readFileSync(seed('04-create-cluster-sync.asl.json'), 'utf8'));
    writeFileSync(join(yamlDir, 'create-cluster.asl.yaml'), stringifyYaml(native));
    writeFileSync(
      join(yamlDir, 'list-pods.yml'),
      stringifyYaml(JSON.parse(readFileSync(seed('02-call-list-pods.asl.json'), 'utf8'))),
    );

    const out = join(scratch, 'yaml-out');
    assert.equal(run([yamlDir, out]).code, 0);
    assert.deepEqual(readdirSync(out).sort(), ['create-cluster.asl.yaml', 'list-pods.yml']);
    const written = readFileSync(join(out, 'create-cluster.asl.yaml'), 'utf8');
    assert.doesNotMatch(written, /^\s*[{[]/, 'written as YAML, not JSON');
    assert.deepEqual(
      parseYaml(written),
      buildStateMachines().get('04-create-cluster-sync.asl.json'),
    );

    const single = run([join(yamlDir, 'list-pods.yml')]);
    assert.match(single.stdout, /Resource: \$\{ActivityArn_eks_call\}/);
  });

  test('--outputs fills the ARNs from describe-stacks output (file or standard input)', () => {
    const outputsFile = join(scratch, 'outputs.json');
    writeFileSync(outputsFile, JSON.stringify(describeStacks('prod')));
    const out = join(scratch, 'deploy');
    assert.equal(run(['--outputs', outputsFile, defaultSourceDir, out]).code, 0);
    const runJob = readFileSync(join(out, '01-runjob-sync-with-logs.asl.json'), 'utf8');
    assert.match(runJob, new RegExp(`"Resource": "${arnOf('prod', 'eks-runJob-sync')}"`));
    for (const file of readdirSync(out)) {
      assert.doesNotMatch(
        readFileSync(join(out, file), 'utf8'),
        /\$\{ActivityArn|arn:aws:states:::eks/,
        file,
      );
    }

    const piped = run(
      ['--outputs', '-', seed('02-call-list-pods.asl.json')],
      JSON.stringify(describeStacks('dev')),
    );
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(JSON.parse(piped.stdout).States['Call EKS'].Resource, arnOf('dev', 'eks-call'));
  });

  test('--outputs reads a CDK outputs file and the query form too; never the wrong stage', () => {
    const cdk = join(scratch, 'cdk-outputs.json');
    writeFileSync(cdk, JSON.stringify({ WorkerStack: { CallArn: arnOf('test', 'eks-call') } }));
    const fromCdk = run(['--outputs', cdk, seed('03-call-delete-job.asl.json')]);
    assert.equal(fromCdk.code, 0, fromCdk.stderr);
    assert.match(fromCdk.stdout, new RegExp(arnOf('test', 'eks-call')));

    const query = join(scratch, 'query.yaml');
    writeFileSync(query, stringifyYaml(describeStacks('qa').Stacks[0]?.Outputs));
    assert.match(
      run(['--outputs', query, seed('02-call-list-pods.asl.json')]).stdout,
      /activity:qa-eks-call"/,
    );

    // Two stages mixed (say `aws stepfunctions list-activities`): which one is meant is not guessed.
    const mixed = join(scratch, 'mixed.json');
    writeFileSync(mixed, JSON.stringify([describeStacks('dev'), describeStacks('prod')]));
    const clash = run(['--outputs', mixed, seed('02-call-list-pods.asl.json')]);
    assert.equal(clash.code, 1);
    assert.match(
      clash.stderr,
      /several activities serve the same integration .*eks-call: .*dev-eks-call, .*prod-eks-call/,
    );
  });

  test('--outputs without the ARN a definition needs, or without any ARN, fails naming it', () => {
    const partial = join(scratch, 'partial.json');
    writeFileSync(
      partial,
      JSON.stringify({ Outputs: [{ OutputValue: arnOf('prod', 'eks-call') }] }),
    );
    const missing = run(['--outputs', partial, seed('01-runjob-sync-with-logs.asl.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /the outputs hold no ARN for ActivityArn_eks_runJob_sync/);

    const none = join(scratch, 'none.json');
    writeFileSync(none, '{"Stacks": []}');
    assert.match(
      run(['--outputs', none, seed('02-call-list-pods.asl.json')]).stderr,
      /no activity ARN/,
    );
    assert.match(
      run(['--outputs', join(scratch, 'absent.json'), seed('02-call-list-pods.asl.json')]).stderr,
      /--outputs: no such file/,
    );
  });
});
