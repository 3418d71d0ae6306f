/**
 * `npm start`: with `EKS_WORKER_ACTIVITY_ARNS` set, serves those activities against AWS as a
 * long-lived process (lib/hosts/process-main.ts); without it, runs the demo on the local stack.
 */
if (process.env.EKS_WORKER_ACTIVITY_ARNS) {
  await import('../lib/hosts/process-main.ts');
} else {
  const { runDemo } = await import('./demo/run-demo.ts');
  process.exitCode = (await runDemo()) ? 0 : 1;
}
