/**
 * `npm start`: with `EKS_WORKER_ACTIVITY_ARNS` set, serves those activities against AWS as a
 * long-lived process (lib/hosts/process-main.ts); without it, installs what the demo needs
 * (scripts/install-tools.sh perl: a perl whose Math::BigInt computes the pi-2000 Job's digits)
 * and runs the demo on the local stack. A production process never runs the installer.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.env.EKS_WORKER_ACTIVITY_ARNS) {
  await import('../lib/hosts/process-main.ts');
} else {
  const installer = fileURLToPath(new URL('../scripts/install-tools.sh', import.meta.url));
  // The installer names what is missing and how to get it; the demo would only fail later, inside
  // a workflow, without it.
  const { status } = spawnSync('bash', [installer, 'perl'], { stdio: 'inherit' });
  if (status !== 0) {
    console.error('npm start: the demo cannot run without the tool named above');
    process.exit(1);
  }
  const { runDemo } = await import('./demo/run-demo.ts');
  process.exitCode = (await runDemo()) ? 0 : 1;
}
