// /kratix/metadata/workflow-control.yaml, as upstream Kratix reads it: a pipeline asks to suspend
// its workflow (until a person or a spec change resumes it) or to be re-run after a delay.
import { parse } from 'yaml';
import { formatDuration, parseDuration } from './duration.js';

export const WORKFLOW_CONTROL_FILE = 'workflow-control.yaml';

export type WorkflowControl =
  | { kind: 'suspend'; message?: string }
  | { kind: 'retry'; retryAfterMs: number; retryAfter: string; message?: string };

export type WorkflowControlResult = { ok: true; control?: WorkflowControl } | { ok: false; error: string };

const KEYS = new Set(['suspend', 'retryAfter', 'message']);

/**
 * Parses the file's text (undefined: no file). No file, an empty file or `suspend: false` with no
 * `retryAfter` means "carry on". `retryAfter` wins over `suspend` (upstream reads a retry as a
 * timed suspension). Anything else is an error naming the field, so a typo never passes silently.
 */
export function parseWorkflowControl(text: string | undefined): WorkflowControlResult {
  if (text === undefined) return { ok: true };
  const file = `/kratix/metadata/${WORKFLOW_CONTROL_FILE}`;
  let doc: unknown;
  try {
    doc = parse(text) as unknown;
  } catch (err) {
    return { ok: false, error: `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  if (doc === null || doc === undefined) return { ok: true };
  if (typeof doc !== 'object' || Array.isArray(doc))
    return { ok: false, error: `${file} must be a YAML map with suspend, retryAfter and message` };
  const o = doc as Record<string, unknown>;
  const unknownKeys = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknownKeys.length)
    return {
      ok: false,
      error: `${file}: unknown field${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.join(', ')} (supported: suspend, retryAfter, message)`,
    };
  if (o.suspend !== undefined && o.suspend !== null && typeof o.suspend !== 'boolean')
    return { ok: false, error: `${file}: suspend must be true or false, got ${JSON.stringify(o.suspend)}` };
  if (o.message !== undefined && o.message !== null && typeof o.message !== 'string')
    return { ok: false, error: `${file}: message must be a string` };
  const message = typeof o.message === 'string' && o.message !== '' ? o.message : undefined;
  if (o.retryAfter !== undefined && o.retryAfter !== null && o.retryAfter !== '') {
    const raw = String(o.retryAfter);
    const ms = typeof o.retryAfter === 'string' ? parseDuration(raw) : undefined;
    if (ms === undefined || ms <= 0)
      return {
        ok: false,
        error: `${file}: retryAfter ${JSON.stringify(o.retryAfter)} is not a positive duration (e.g. 30s, 5m, 1h30m)`,
      };
    return {
      ok: true,
      control: {
        kind: 'retry',
        retryAfterMs: ms,
        retryAfter: formatDuration(ms),
        ...(message ? { message } : {}),
      },
    };
  }
  if (o.suspend === true) return { ok: true, control: { kind: 'suspend', ...(message ? { message } : {}) } };
  return { ok: true };
}
