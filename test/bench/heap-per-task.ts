/**
 * `npx tsx test/bench/heap-per-task.ts [tasks]` (default 1000): where the memory of a waiting
 * `runJob.sync` task goes. Starts the bench environment with one worker, takes a V8 heap snapshot
 * of the worker when idle and again while it holds `tasks` waiting tasks (`--heapsnapshot-signal`),
 * and prints the heap growth per task by kind of object, next to the RSS growth per task (the
 * part of RSS outside the V8 heap is sockets, TLS and allocator slack).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBenchEnv } from './bench-env.ts';
import { runPool } from './stats.ts';
import { bundleWorker, readMemory } from './worker-process.ts';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per kind: constructor name for objects, the node type otherwise. */
const summarizeSnapshot = (path: string): Map<string, { bytes: number; count: number }> => {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const kinds = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt] as number] ?? '?';
    const name = heap.strings[heap.nodes[i + nameAt] as number] ?? '?';
    const kind =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${type} ${name.slice(0, 60)}`
        : type.includes('string')
          ? 'strings'
          : `(${type})`;
    const entry = kinds.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[i + sizeAt] as number;
    entry.count += 1;
    kinds.set(kind, entry);
  }
  return kinds;
};

const takeSnapshot = async (pid: number, dir: string): Promise<string> => {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')));
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 300_000; waited += 500) {
    await sleep(500);
    const made = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (made) {
      // Node writes it in pieces: done when the JSON is complete.
      for (;;) {
        if (readFileSync(join(dir, made), 'utf8').trimEnd().endsWith(']}')) return join(dir, made);
        await sleep(1000);
      }
    }
  }
  throw new Error('no heap snapshot appeared');
};

const main = async () => {
  const tasks = Number(process.argv[2] ?? 1000);
  const bundlePath = await bundleWorker();
  const dir = process.cwd();
  const env = await startBenchEnv({
    mode: 'bundle',
    bundlePath,
    heartbeatIntervalMs: 20_000,
    heartbeatSeconds: 60,
    maxConcurrentTasks: tasks + 100,
    pollersPerActivity: 4,
    longPollHoldMs: 5_000,
    workerEnv: { NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' },
  });
  const snapshots: string[] = [];
  try {
    const prefix = `heap${Date.now().toString(36)}`;
    await env.waitForExecution(
      await env.startJob({ name: `${prefix}-warmup`, script: { durationMs: 100 } }),
      30_000,
    );
    await sleep(3_000);
    const idleRss = readMemory(env.worker.pid)?.rssBytes ?? 0;
    snapshots.push(await takeSnapshot(env.worker.pid, dir));
    const names = Array.from({ length: tasks }, (_, i) => `${prefix}-${i}`);
    await runPool(names, 25, (name) => env.startJob({ name, script: { durationMs: 600_000 } }));
    while (names.some((name) => env.taskForJob(name) === undefined)) await sleep(200);
    await sleep(25_000); // past the first heartbeat of every task
    const holdingRss = readMemory(env.worker.pid)?.rssBytes ?? 0;
    snapshots.push(await takeSnapshot(env.worker.pid, dir));

    const [idle, holding] = snapshots.map(summarizeSnapshot) as [
      ReturnType<typeof summarizeSnapshot>,
      ReturnType<typeof summarizeSnapshot>,
    ];
    const rows = [...holding].map(([kind, now]) => {
      const was = idle.get(kind) ?? { bytes: 0, count: 0 };
      return { kind, bytes: now.bytes - was.bytes, count: now.count - was.count };
    });
    rows.sort((a, b) => b.bytes - a.bytes);
    const heapGrowth = rows.reduce((sum, row) => sum + row.bytes, 0);
    console.log(`tasks held: ${tasks}`);
    console.log(`RSS growth: ${Math.round((holdingRss - idleRss) / tasks)} B per task`);
    console.log(`V8 heap growth (self sizes): ${Math.round(heapGrowth / tasks)} B per task`);
    console.log('largest kinds, bytes per task (objects per task):');
    for (const row of rows.slice(0, 25)) {
      console.log(
        `  ${String(Math.round(row.bytes / tasks)).padStart(7)}  (${(row.count / tasks).toFixed(1)})  ${row.kind}`,
      );
    }
  } finally {
    await env.close();
    // BENCH_KEEP_SNAPSHOTS=1 keeps them for a closer look (e.g. in Chrome DevTools' Memory tab).
    if (process.env.BENCH_KEEP_SNAPSHOTS) console.log(`snapshots kept: ${snapshots.join(' ')}`);
    else for (const path of snapshots) rmSync(path, { force: true });
  }
};

await main();
