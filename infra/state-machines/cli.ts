/**
 * `npm run state-machines -- [--outputs <file>] <source> [<out-dir>]`: rewrites definitions that use
 * the native `arn:aws:states:::eks:*` integrations for the worker's activities (build.ts), with
 * `${ActivityArn_...}` placeholders for `DefinitionSubstitutions`, or with the deployed ARNs filled in
 * from the stack's outputs. Nothing is written unless an output folder is named: a source file
 * alone goes to standard output (a run without arguments once overwrote the committed examples).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  type DefinitionFormat,
  definitionFormatOf,
  formatDefinition,
  listDefinitionFiles,
  listSubstitutionKeys,
  parseDefinition,
  substitute,
  toActivityStateMachine,
} from './build.ts';
import { activityArnsFromStackOutputs } from './stack-outputs.ts';

export const usage = `Usage: npm run state-machines -- [--outputs <file>] <source> [<out-dir>]

Rewrites Step Functions definitions that use the native arn:aws:states:::eks:* integrations for
the worker's activities: each native Resource becomes \${ActivityArn_eks_...} (for
DefinitionSubstitutions) and .sync states get HeartbeatSeconds. JSON and YAML alike.

  <source>          a definition file (.json, .yaml, .yml) or a folder of them
  <out-dir>         the folder to write the rewritten files to, same names and formats (created if
                    missing); without it, a source file is printed to standard output
  --outputs <file>  fill in the deployed activity ARNs instead of placeholders, read from
                    \`aws cloudformation describe-stacks\` output, a CDK --outputs-file, or any
                    JSON or YAML listing them ("-" reads standard input)
  -h, --help        show this help

Examples:
  npm run state-machines -- my-machine.asl.json
  aws cloudformation describe-stacks --stack-name eks-activity-worker-prod > outputs.json
  npm run state-machines -- --outputs outputs.json state-machines/ deploy/
`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Standard input, read whole (for `--outputs -`). */
  readonly readStdin: () => string;
}

/** A problem the user can fix, reported as one line without a stack trace. */
class UsageError extends Error {}

const readOutputs = (path: string, io: CliIo): Record<string, string> => {
  if (path !== '-' && !existsSync(path)) throw new UsageError(`--outputs: no such file: ${path}`);
  const text = path === '-' ? io.readStdin() : readFileSync(path, 'utf8');
  let document: unknown;
  try {
    document = parseYaml(text); // YAML 1.2 reads JSON too
  } catch (error) {
    throw new UsageError(
      `--outputs: ${path} is neither JSON nor YAML: ${(error as Error).message}`,
    );
  }
  let arns: Record<string, string>;
  try {
    arns = activityArnsFromStackOutputs(document);
  } catch (error) {
    throw new UsageError(`--outputs: ${(error as Error).message}`);
  }
  if (Object.keys(arns).length === 0) {
    throw new UsageError(`--outputs: no activity ARN (arn:aws:states:...:activity:...) in ${path}`);
  }
  return arns;
};

/** One source file rewritten (and filled), as file text in its own format. */
const rewriteFile = (
  path: string,
  format: DefinitionFormat,
  arns: Record<string, string> | undefined,
): string => {
  let definition: ReturnType<typeof parseDefinition>;
  try {
    definition = parseDefinition(readFileSync(path, 'utf8'), format);
  } catch (error) {
    throw new UsageError(`${path}: not valid ${format.toUpperCase()}: ${(error as Error).message}`);
  }
  if (!definition || typeof definition !== 'object' || typeof definition.States !== 'object') {
    throw new UsageError(`${path}: not a state machine definition (no "States")`);
  }
  let rewritten = toActivityStateMachine(definition);
  if (arns) {
    const missing = listSubstitutionKeys(rewritten).filter((key) => arns[key] === undefined);
    if (missing.length > 0) {
      throw new UsageError(`${path}: the outputs hold no ARN for ${missing.join(', ')}`);
    }
    rewritten = substitute(rewritten, arns);
  }
  return formatDefinition(rewritten, format);
};

const parseCommandLine = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { outputs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });

/** Runs the command; returns the exit code (0 done, 1 a problem, 2 a usage mistake). */
export const runStateMachinesCli = (argv: readonly string[], io: CliIo): number => {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    io.stderr(`state-machines: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  if (positionals.length === 0 || positionals.length > 2) {
    io.stderr(
      `state-machines: give a source file or folder, and an output folder for a folder\n\n${usage}`,
    );
    return 2;
  }
  const [source = '', outDir] = positionals;
  try {
    if (!existsSync(source)) throw new UsageError(`no such file or folder: ${source}`);
    const isDir = statSync(source).isDirectory();
    const files = isDir ? listDefinitionFiles(source).map((file) => join(source, file)) : [source];
    if (isDir && files.length === 0) {
      throw new UsageError(`no definitions (*.json, *.yaml, *.yml) in ${source}`);
    }
    if (isDir && outDir === undefined) {
      throw new UsageError(`${source} is a folder: name an output folder to write its files to`);
    }
    const arns = values.outputs === undefined ? undefined : readOutputs(values.outputs, io);
    const rewritten = files.map((path) => {
      const format = definitionFormatOf(path);
      if (!format) throw new UsageError(`${path}: not a .json, .yaml or .yml file`);
      return { name: basename(path), text: rewriteFile(path, format, arns) };
    });
    if (outDir === undefined) {
      io.stdout(rewritten[0]?.text ?? '');
      return 0;
    }
    mkdirSync(outDir, { recursive: true });
    for (const { name, text } of rewritten) writeFileSync(join(outDir, name), text);
    const filled = arns ? 'deployed activity ARNs filled in' : 'ActivityArn placeholders';
    io.stdout(
      `wrote ${rewritten.length} state machine(s) to ${outDir} (${filled}): ${rewritten.map((r) => r.name).join(', ')}\n`,
    );
    return 0;
  } catch (error) {
    // A UsageError is a sentence for the user; anything else is a bug: keep its stack.
    const text = error instanceof UsageError ? error.message : (error as Error).stack;
    io.stderr(`state-machines: ${text}\n`);
    return 1;
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = runStateMachinesCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: () => readFileSync(0, 'utf8'),
  });
}
