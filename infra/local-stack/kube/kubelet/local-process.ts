/**
 * Local execution: a container's `command` + `args` run as a host process (no shell, as a
 * container runtime execs them), with the container's `env`. Output goes to a FileLog.
 * For the loopback demo only: it runs whatever a pod asks for, so never expose such a cluster.
 */
import { spawn } from 'node:child_process';
import type { FileLog } from './file-log.ts';

export interface LocalContainerSpec {
  name: string;
  command?: readonly string[];
  args?: readonly string[];
  env?: readonly { name: string; value?: string }[];
  workingDir?: string;
}

export interface LocalProcessResult {
  exitCode: number;
  /** Set when the process could not run at all (`ContainerCannotRun`). */
  cannotRunMessage?: string;
  /** The process was stopped by `kill()` (pod deleted, Job past its deadline). */
  killed: boolean;
}

export interface LocalProcess {
  readonly done: Promise<LocalProcessResult>;
  /** SIGTERM, then SIGKILL after `graceMs`, as the kubelet stops a container. */
  kill(graceMs: number): void;
}

/** Exit code of a command that cannot be found, as a shell reports it. */
const commandNotFoundExitCode = 127;

/** Starts a container's command as a host process, its output appended to `log`. */
export const startLocalProcess = (container: LocalContainerSpec, log: FileLog): LocalProcess => {
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const [executable, ...rest] = argv;
  if (executable === undefined) {
    return {
      done: Promise.resolve({
        exitCode: commandNotFoundExitCode,
        cannotRunMessage: `container ${container.name} has no command: local execution needs command or args`,
        killed: false,
      }),
      kill: () => undefined,
    };
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const variable of container.env ?? []) env[variable.name] = variable.value ?? '';
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const child = spawn(executable, rest, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(container.workingDir ? { cwd: container.workingDir } : {}),
  });
  child.stdout.on('data', (chunk: Buffer) => log.append(chunk));
  child.stderr.on('data', (chunk: Buffer) => log.append(chunk));
  const done = new Promise<LocalProcessResult>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(killTimer);
      // The runtime's wording for an exec that fails, so a reader recognises it.
      const message =
        error.code === 'ENOENT'
          ? `exec: "${executable}": executable file not found in $PATH`
          : `exec: "${executable}": ${error.message}`;
      resolve({ exitCode: commandNotFoundExitCode, cannotRunMessage: message, killed });
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      // A signal death reads as 128 + signal number, as in a container.
      const signalCodes: Record<string, number> = { SIGTERM: 143, SIGKILL: 137, SIGINT: 130 };
      const exitCode = code ?? (signal ? (signalCodes[signal] ?? 137) : 1);
      resolve({ exitCode, killed });
    });
  });
  return {
    done,
    kill(graceMs) {
      if (child.exitCode !== null || child.signalCode !== null || killed) return;
      killed = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      killTimer.unref();
    },
  };
};
