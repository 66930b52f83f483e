/**
 * The memory one run may take on a shared worker. Workers size and refuse runs by it, and the API
 * knows it too, so a run that cannot fit is refused before it is queued instead of taking a
 * worker's memory (and being retried). One setting for both: DFQ_WORKER_MEMORY_MIB.
 */
export const WORKER_MEMORY_ENV = 'DFQ_WORKER_MEMORY_MIB';
export const DEFAULT_WORKER_MEMORY_MIB = 8192;

export function workerMemoryMiB(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[WORKER_MEMORY_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_WORKER_MEMORY_MIB;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 256)
    throw new Error(`${WORKER_MEMORY_ENV}=${raw} must be an integer number of MiB, at least 256`);
  return n;
}
