/**
 * The innermost message of an error chain: child workflow and activity failures wrap the
 * interesting message (the pipeline's) in `cause`.
 */
export function rootCauseMessage(err: unknown, fallback = String(err)): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? fallback;
}
