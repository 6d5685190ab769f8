// This VM's speed varies by half between runs of the same code (CPU seconds of every process, the
// unchanged Temporal server's too, move together; steal explains only part of it). A fixed piece
// of work timed just before the burst tells which runs are comparable, and by how much.
import { createHash } from 'node:crypto';

/**
 * CPU milliseconds this process spends on a fixed workload (hashing, short-lived objects, JSON:
 * what the components do most), the best of `rounds`. Lower is a faster machine.
 */
export function speedProbeMs(rounds = 3): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    work();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return Math.round(best);
}

function work(): void {
  const block = Buffer.alloc(1 << 20, 7);
  const hash = createHash('sha256');
  for (let i = 0; i < 64; i++) hash.update(block);
  hash.digest();
  let kept: { i: number; s: string }[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    kept.push({ i, s: String(i) });
    if (kept.length > 1000) kept = [];
  }
  const json = JSON.stringify(Array.from({ length: 50_000 }, (_, i) => ({ i, name: `object-${i}` })));
  JSON.parse(json);
}
