/**
 * `npm run build`: bundles the long-lived worker (lib/hosts/process-main.ts) into one plain
 * JavaScript file, `dist/worker.mjs`, started with `node dist/worker.mjs` (or the package's `bin`,
 * `eks-activity-worker`). The benchmark runs this same bundle, so the figures it reports are the
 * deployable's.
 *
 * Self-contained on purpose: every dependency (the AWS SDK, @kubernetes/client-node, Powertools)
 * is inside the file, so production needs Node.js and this file only, no `node_modules`, no
 * `npm ci`, no TypeScript loader. A container image is then one file on a Node base image, and
 * what runs is exactly what was tested.
 *
 * Usage: `npm run build [-- <outfile>]` (default dist/worker.mjs).
 */
import { chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The default output, relative to the repository root. */
export const defaultWorkerOutfile = 'dist/worker.mjs';

/** esbuild options of the worker bundle (exported so the benchmark builds the very same thing). */
export const workerBundleOptions = (outfile: string): BuildOptions => ({
  absWorkingDir: repositoryRoot,
  entryPoints: ['lib/hosts/process-main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node the package supports (package.json engines); the image runs Node 22.
  target: 'node20',
  outfile,
  // A linked map next to the bundle: `node --enable-source-maps` turns stack traces back into
  // TypeScript positions; without the flag it costs nothing.
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: {
    // The shebang makes the file the package's `bin`. Some bundled CommonJS dependencies call
    // require() for Node built-ins, and an ES module has no require: give it one.
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __workerCreateRequire } from 'node:module'; const require = __workerCreateRequire(import.meta.url);",
    ].join('\n'),
  },
});

/** Bundles the worker into `outfile` (absolute, or relative to the repository root). */
export const buildWorker = async (outfile = defaultWorkerOutfile): Promise<string> => {
  const absolute = resolve(repositoryRoot, outfile);
  await build(workerBundleOptions(absolute));
  chmodSync(absolute, 0o755);
  return absolute;
};

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfile = await buildWorker(process.argv[2]);
  process.stdout.write(`${outfile}\n`);
}
