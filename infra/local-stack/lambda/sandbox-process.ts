/**
 * Starting a sandbox's process: `node --import tsx sandbox-entry.ts <module> <export>` with the
 * heap Lambda's Node.js bootstrap gives the memory size, the function's environment only, and an
 * IPC channel. Also the guard that no sandbox outlives the process that started it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entryPath = fileURLToPath(new URL('./sandbox-entry.ts', import.meta.url));
// Absolute, so the child finds tsx whatever its working directory (the function's task root).
const tsxLoaderUrl = import.meta.resolve('tsx');

// A frozen (SIGSTOPped) child would outlive a parent that exits without closing its functions
// (a test runner's forced exit): it never sees the IPC channel close. Kill them all on exit.
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Lambda's Node.js bootstrap: a tenth of the memory for the young generation, the rest old. */
export const heapFlags = (memorySizeMb: number): string[] => {
  const newSpaceMb = Math.floor(memorySizeMb / 10);
  return [
    `--max-semi-space-size=${Math.max(1, Math.floor(newSpaceMb / 2))}`,
    `--max-old-space-size=${memorySizeMb - newSpaceMb}`,
  ];
};

/** Starts one sandbox process; stdout and stderr are piped for the function's log. */
export const spawnSandboxProcess = (options: {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly memorySizeMb: number;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}): ChildProcess => {
  const child = fork(entryPath, [options.moduleUrl, options.exportName], {
    execPath: process.execPath,
    execArgv: ['--import', tsxLoaderUrl, ...heapFlags(options.memorySizeMb)],
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
};
