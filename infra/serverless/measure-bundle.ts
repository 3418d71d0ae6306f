/**
 * Measures what `npm run package` built: the size of each function's bundle (in the zip and
 * unzipped) and its cold-start import time (median of fresh `node` processes), with the AWS SDK
 * bundled (what we ship) and, with `--compare-external-sdk`, left external and resolved from
 * node_modules the way the Lambda runtime's own SDK would be.
 *
 * Run: `npm run package && npm run bundle:measure [-- --runs 7 --compare-external-sdk]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readZipEntries } from './zip-entries.ts';

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Configuration the handlers validate at import: dummy values, nothing is called. */
export const importEnvironment: Readonly<Record<string, string>> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDMEASUREONLY',
  AWS_SECRET_ACCESS_KEY: 'measure-only',
  EKS_WORKER_ACTIVITY_ARNS: 'arn:aws:states:us-east-1:123456789012:activity:measure-eks-call',
  EKS_WORKER_HANDOFF_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/measure-handoff',
  EKS_WORKER_LOG_LEVEL: 'SILENT',
  // Node 20 warns about the SDK's future Node 22 requirement; Lambda runs Node 22.
  NODE_NO_WARNINGS: '1',
};

/** Sizes of one function's files in the package. */
export interface BundleSize {
  readonly name: string;
  readonly zippedBytes: number;
  readonly unzippedBytes: number;
  /** The `.mjs` alone, without its source map. */
  readonly codeBytes: number;
}

/** Per-function sizes of a package zip (a function's `.mjs` plus its `.map`). */
export const measureSizes = (zipPath: string): BundleSize[] => {
  const byFunction = new Map<string, { zipped: number; unzipped: number; code: number }>();
  for (const entry of readZipEntries(zipPath)) {
    const match = /^functions\/([^/.]+)\.mjs(\.map)?$/.exec(entry.name);
    if (!match?.[1]) continue;
    const size = byFunction.get(match[1]) ?? { zipped: 0, unzipped: 0, code: 0 };
    size.zipped += entry.compressedBytes;
    size.unzipped += entry.data.length;
    if (!match[2]) size.code += entry.data.length;
    byFunction.set(match[1], size);
  }
  return [...byFunction].map(([name, size]) => ({
    name,
    zippedBytes: size.zipped,
    unzippedBytes: size.unzipped,
    codeBytes: size.code,
  }));
};

/** Unpacks a package zip into a new temporary folder; returns it. */
export const unpackZip = (zipPath: string): string => {
  const dir = mkdtempSync(join(tmpdir(), 'eks-activity-worker-bundle-'));
  for (const entry of readZipEntries(zipPath)) {
    const target = join(dir, entry.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entry.data);
  }
  return dir;
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Median milliseconds to `import()` a module in a fresh plain `node` process (no tsx), measured
 * inside the process so node's own start-up is not counted.
 */
export const measureImportMs = (
  modulePath: string,
  options: { runs?: number; nodeOptions?: string } = {},
): { medianMs: number; runsMs: number[] } => {
  const runsMs: number[] = [];
  for (let i = 0; i < (options.runs ?? 5); i++) {
    const script = `const t = performance.now(); await import(${JSON.stringify(modulePath)}); process.stdout.write(String(performance.now() - t));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        ...importEnvironment,
        NODE_OPTIONS: options.nodeOptions ?? '',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (result.status !== 0) {
      throw new Error(`importing ${modulePath} failed: ${result.stderr || result.error}`);
    }
    runsMs.push(Number(result.stdout));
  }
  return { medianMs: median(runsMs), runsMs };
};

/**
 * Bundles a handler with the package's esbuild options but the AWS SDK external, for the
 * comparison; the output sits in the project so node resolves the SDK from node_modules.
 */
const bundleWithExternalSdk = async (name: string): Promise<{ path: string; bytes: number }> => {
  const { build } = await import('esbuild');
  const outDir = join(projectDir, '.esbuild', 'measure-external-sdk');
  const result = await build({
    entryPoints: [join(projectDir, 'functions', `${name}.ts`)],
    outfile: join(outDir, `${name}.mjs`),
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    target: 'node22',
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'));
  return { path: join(outDir, `${name}.mjs`), bytes: output?.[1].bytes ?? 0 };
};

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      zip: { type: 'string', default: join(projectDir, '.serverless', 'eks-activity-worker.zip') },
      runs: { type: 'string', default: '7' },
      'compare-external-sdk': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const sizes = measureSizes(values.zip);
  const dir = unpackZip(values.zip);
  try {
    for (const size of sizes) {
      const modulePath = join(dir, 'functions', `${size.name}.mjs`);
      const plain = measureImportMs(modulePath, { runs });
      const withMaps = measureImportMs(modulePath, { runs, nodeOptions: '--enable-source-maps' });
      console.log(
        `${size.name}: zip ${kib(size.zippedBytes)}, unzipped ${kib(size.unzippedBytes)} (code ${kib(size.codeBytes)}); ` +
          `cold import median ${plain.medianMs.toFixed(0)} ms, ` +
          `with --enable-source-maps ${withMaps.medianMs.toFixed(0)} ms (${runs} runs each)`,
      );
      if (values['compare-external-sdk']) {
        const external = await bundleWithExternalSdk(size.name);
        const measured = measureImportMs(external.path, { runs });
        console.log(
          `${size.name} with the AWS SDK external: code ${kib(external.bytes)}, ` +
            `cold import median ${measured.medianMs.toFixed(0)} ms (SDK from node_modules)`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
