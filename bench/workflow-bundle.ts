// Worker CPU per workflow instantiation, traced bundle vs untraced (see README, Benchmarks).
// Every new workflow evaluates its bundle's modules afresh (the SDK's per-workflow module cache):
// replaying one recorded Resource lifecycle (its configure runs inside it) N times, each in a new
// workflow, shows that cost (with the replay of that history on top).
//   npx tsx bench/workflow-bundle.ts            (BENCH_REPLAYS=300, BENCH_ROUNDS=2)
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { untracedBundlePath } from '../src/temporal/tracing.js';
import { writeWorkflowBundle } from '../src/worker.js';

const REPLAYS = Number(process.env.BENCH_REPLAYS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const HISTORY = new URL('../test/histories/v8-inline/resource-resourceLifecycle.json', import.meta.url);

Runtime.install({ logger: new DefaultLogger('WARN') });
const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bundle-bench-')), 'workflow-bundle.js');
await writeWorkflowBundle(file);
const recorded = JSON.parse(readFileSync(HISTORY, 'utf8')) as { workflowId: string; history: unknown };
// The same workflow id each time: the history starts a delete child whose id derives from it.
const histories = Array.from({ length: REPLAYS }, () => ({
  workflowId: recorded.workflowId,
  history: recorded.history,
}));

const rows: { bundle: string; round: number; cpuMsPerWorkflow: number; wallMs: number }[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const [bundle, codePath] of [
    ['traced', file],
    ['untraced', untracedBundlePath(file)],
  ] as const) {
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    let failed = 0;
    for await (const r of Worker.runReplayHistories(
      { workflowBundle: { codePath }, sinks: { exporter: { export: { fn: () => undefined } } } } as never,
      histories as never,
    ))
      if (r.error) failed++;
    if (failed) throw new Error(`${failed} replays failed with the ${bundle} bundle`);
    const cpu = process.cpuUsage(cpu0);
    rows.push({
      bundle,
      round,
      cpuMsPerWorkflow: Number(((cpu.user + cpu.system) / 1000 / REPLAYS).toFixed(1)),
      wallMs: Math.round(performance.now() - wall0),
    });
  }
}
console.table(rows);
