import pino from 'pino';

/** Structured logs on stderr; stdout is kept for the CLI's own messages. */
export const logger = pino(
  { level: process.env.LOG_LEVEL ?? 'info', base: { app: 'kratix-temporal' } },
  pino.destination(2),
);
