// How `runs` and `logs` read in a terminal. Pure.
import { humanDuration, oneLine, shortTime, table } from './format.js';
import type { RunInfo } from './run-history.js';
import type { ContainerLog } from './inspect.js';

export function formatRuns(title: string, runs: RunInfo[]): string {
  if (runs.length === 0) return `${title}: no runs found\n`;
  const rows = runs.map((r) => [
    r.run,
    r.action,
    r.reason,
    r.outcome,
    shortTime(r.startTime),
    humanDuration(r.durationMs),
    r.pipeline ?? '',
    r.container ?? '',
  ]);
  const lines = [
    table(['RUN', 'ACTION', 'REASON', 'OUTCOME', 'STARTED (UTC)', 'DURATION', 'PIPELINE', 'CONTAINER'], rows),
    '',
  ];
  // Messages and links are long: one block per run under the table.
  for (const r of runs) {
    const detail = [r.message && oneLine(r.message, 300), r.webUrl].filter(Boolean);
    if (detail.length === 0) continue;
    lines.push(`run ${r.run} (${r.outcome}):`);
    for (const d of detail) lines.push(`  ${d}`);
  }
  return `${title}\n${lines.join('\n').trimEnd()}\n`;
}

export function formatLogs(run: RunInfo, logs: ContainerLog[]): string {
  if (logs.length === 0) return '';
  return logs
    .map((l) => {
      const body = l.log.endsWith('\n') || l.log === '' ? l.log : `${l.log}\n`;
      return `==> run ${run.run} · pipeline ${l.pipeline} · container ${l.container} (${l.source}) <==\n${body}`;
    })
    .join('\n');
}
