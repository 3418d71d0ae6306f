/**
 * `npm start`: without `EKS_WORKER_ACTIVITY_ARNS` in the environment, installs what the demo needs
 * (scripts/install-tools.sh: perl's Math::BigInt for the pi Job, kubectl, the AWS CLI) and runs the
 * demo on the local stack. With the variable present, even empty (a ConfigMap key left blank), it
 * is a production start: lib/hosts/process-main.ts validates the configuration and refuses an
 * empty list with its configuration error; it never falls back to the demo or the installer.
 * Production runs the built bundle instead (`npm run build`, then `node dist/worker.mjs`).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.env.EKS_WORKER_ACTIVITY_ARNS !== undefined) {
  await import('../lib/hosts/process-main.ts');
} else {
  execFileSync('bash', [fileURLToPath(new URL('../scripts/install-tools.sh', import.meta.url))], {
    stdio: 'inherit',
  });
  const { runDemo } = await import('./demo/run-demo.ts');
  process.exitCode = (await runDemo()) ? 0 : 1;
}
