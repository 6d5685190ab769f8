import { readFileSync } from 'node:fs';

/** The shared worker's pid: the durability tests SIGKILL it, and its supervisor starts another. */
export const sharedWorkerPid = (): string => readFileSync(process.env.KRATIX_TEST_WORKER_PID_FILE!, 'utf8');

/**
 * Runs `fn`, again if the shared worker was replaced meanwhile (a query it should have answered
 * may have gone unanswered).
 */
export async function onSteadyWorker<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const pid = sharedWorkerPid();
    const result = await fn();
    if (sharedWorkerPid() === pid || attempt === 3) return result;
  }
}
