/**
 * Runs `serverless package` (osls + serverless-esbuild, offline) once for the infra tests and
 * caches the result by the content of everything that goes into it, so test files running in
 * parallel and re-runs without changes share one package (it takes several seconds).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectDir = resolve(fileURLToPath(import.meta.url), '../../..');

/** Stage and parameters every infra test packages with. */
export const packageOptions = {
  stage: 'test',
  region: 'us-east-1',
  vpcSubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
  vpcSecurityGroupIds: ['sg-0cccccccccccccccc'],
} as const;

/** The packaged artefacts. */
export interface Packaged {
  dir: string;
  /** `cloudformation-template-update-stack.json`, parsed. */
  template: CfnTemplate;
  /** The service zip (one artefact for both functions). */
  zipPath: string;
}

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  [key: string]: unknown;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs: Record<string, { Value: unknown; Description?: string; Export?: { Name: unknown } }>;
}

const inputRoots = ['serverless.yml', 'package-lock.json', 'infra/serverless', 'functions', 'lib'];

const listFiles = (path: string): string[] => {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => listFiles(join(path, entry)));
};

const hashInputs = (): string => {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(packageOptions));
  for (const file of inputRoots.flatMap((root) => listFiles(join(projectDir, root)))) {
    hash.update(file);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
};

/**
 * Runs the Framework (osls) offline, as `npx serverless <args>` would, with package-only
 * credentials (it never calls AWS, but wants credentials to exist). Rejects with its output.
 */
export const runServerless = (
  args: readonly string[],
  timeoutMs = 120_000,
): Promise<{ stdout: string; stderr: string }> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [join(projectDir, 'node_modules/osls/bin/serverless.js'), ...args],
      {
        cwd: projectDir,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'AKIDPACKAGEONLY',
          AWS_SECRET_ACCESS_KEY: 'package-only',
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise({ stdout, stderr });
      else
        reject(
          new Error(`serverless ${args[0]} failed (${code ?? signal}):\n${stdout}\n${stderr}`),
        );
    });
  });

const runServerlessPackage = async (outDir: string, timeoutMs: number): Promise<void> => {
  await runServerless(
    [
      'package',
      '--package',
      outDir,
      '--stage',
      packageOptions.stage,
      '--region',
      packageOptions.region,
      `--param=vpcSubnetIds=${packageOptions.vpcSubnetIds.join(',')}`,
      `--param=vpcSecurityGroupIds=${packageOptions.vpcSecurityGroupIds.join(',')}`,
    ],
    timeoutMs,
  );
};

/**
 * `serverless print --format json` with extra arguments: the resolved configuration, variables
 * and `${file(...)}` sources included, without bundling (seconds, not a package). Rejects with
 * the Framework's output when it fails.
 */
export const printService = async (
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<unknown> => {
  const { stdout, stderr } = await runServerless(['print', '--format', 'json', ...args], timeoutMs);
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`serverless print wrote no JSON:\n${stdout}\n${stderr}`);
  }
};

let pending: Promise<Packaged> | undefined;

/** Packages the service (or reuses a package built from identical inputs). */
export const packageService = (timeoutMs = 120_000): Promise<Packaged> => {
  pending ??= (async () => {
    const dir = join(tmpdir(), `eks-activity-worker-package-${hashInputs()}`);
    if (!existsSync(join(dir, 'cloudformation-template-update-stack.json'))) {
      const work = mkdtempSync(join(tmpdir(), 'eks-activity-worker-packaging-'));
      await runServerlessPackage(work, timeoutMs);
      try {
        renameSync(work, dir);
      } catch {
        // Another test process finished the same package first: use theirs.
        rmSync(work, { recursive: true, force: true });
      }
    }
    mkdirSync(dir, { recursive: true });
    return {
      dir,
      template: JSON.parse(
        readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
      ) as CfnTemplate,
      zipPath: join(dir, 'eks-activity-worker.zip'),
    };
  })();
  return pending;
};
