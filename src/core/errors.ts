/**
 * The innermost message of an error chain: child workflow and activity failures wrap the
 * interesting message (the pipeline's) in `cause`.
 */
export function rootCauseMessage(err: unknown, fallback = String(err)): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? fallback;
}

/**
 * An error's first line and its causes', joined: the client's `Failed to query Workflow` says
 * little without the gRPC status under it (`4 DEADLINE_EXCEEDED: …`).
 */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const line = typeof e.message === 'string' ? e.message.split('\n')[0]!.trim() : '';
    if (line && !parts.includes(line)) parts.push(line);
    if (parts.length === 4) break;
  }
  return parts.join(': ') || String(err);
}
