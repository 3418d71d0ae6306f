/**
 * `npm start`: with `EKS_WORKER_ACTIVITY_ARNS` set, serves those activities against AWS as a
 * long-lived process (lib/hosts/process-main.ts); without it, installs what the demo needs
 * (scripts/install-tools.sh: perl's Math::BigInt for the pi Job, kubectl, the AWS CLI) and runs
 * the demo on the local stack. A production process never runs the installer.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.env.EKS_WORKER_ACTIVITY_ARNS) {
  await import('../lib/hosts/process-main.ts');
} else {
  execFileSync('bash', [fileURLToPath(new URL('../scripts/install-tools.sh', import.meta.url))], {
    stdio: 'inherit',
  });
  const { runDemo } = await import('./demo/run-demo.ts');
  process.exitCode = (await runDemo()) ? 0 : 1;
}
