/**
 * `npm start`: without `EKS_WORKER_ACTIVITY_ARNS` in the environment, installs what the demo needs
 * (scripts/install-tools.sh perl: a perl whose Math::BigInt computes the pi-2000 Job's digits) and
 * runs the demo on the local stack. With the variable present, even empty (a ConfigMap key left
 * blank), it is a production start: lib/hosts/process-main.ts validates the configuration and
 * refuses an empty list with its configuration error; it never falls back to the demo or the
 * installer. Production runs the built bundle instead (`npm run build`, then `node dist/worker.mjs`).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.env.EKS_WORKER_ACTIVITY_ARNS !== undefined) {
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
