// How `kratix-temporal test` shows its report in a terminal. Pure.
import { stringify } from 'yaml';
import { indent, table } from './format.js';
import type { TestObjectReport, TestReport } from './test-promise.js';

function title(o: TestObjectReport): string {
  return o.kind === 'Promise'
    ? `Promise ${o.name}`
    : `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

function events(list: TestObjectReport['events']): string {
  return table(
    ['TYPE', 'REASON', 'MESSAGE'],
    list.map((e) => [e.type, e.reason, e.message]),
  );
}

export function formatTestReport(r: TestReport): string {
  const parts: string[] = [];
  for (const o of r.objects) {
    const lines = [`${o.ok ? 'ok  ' : 'FAIL'} ${title(o)}${o.error ? `: ${o.error}` : ''}`];
    lines.push(indent('status:'), indent(stringify(o.status).trimEnd(), '    '));
    lines.push(indent('files:'));
    if (o.files.length)
      lines.push(
        indent(
          table(
            ['DESTINATION', 'PATH'],
            o.files.map((f) => [f.destination, f.path]),
          ),
          '    ',
        ),
      );
    else lines.push(indent('(none)', '    '));
    lines.push(indent('events:'), indent(events(o.events), '    '));
    if (o.delete) {
      lines.push(indent(`delete: ${o.delete.ok ? 'ok' : `FAILED: ${o.delete.error}`}`));
      if (o.delete.events.length) lines.push(indent(events(o.delete.events), '    '));
    }
    parts.push(lines.join('\n'));
  }
  const failed = r.objects.filter((o) => !o.ok || o.delete?.ok === false).length;
  const dests = r.destinations
    .map(
      (d) =>
        `${d.name}${
          Object.keys(d.labels).length
            ? ` (${Object.entries(d.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(',')})`
            : ''
        }`,
    )
    .join(', ');
  parts.push(`destinations: ${dests}\noutput: ${r.out}\n${r.objects.length} object(s), ${failed} failed`);
  return `${parts.join('\n\n')}\n`;
}
