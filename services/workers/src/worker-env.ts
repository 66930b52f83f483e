import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_FASHION_MNIST_DIR } from '@dfq/contract';
import { redisUrl } from '@dfq/queue';

/** Worker settings from the environment, with defaults that work on one machine. */
export interface WorkerSettings {
  redisUrl: string;
  artifactsDir: string;
  evalDir: string;
  /** How long a job lock lasts without renewal; a killed worker's job is retried after about this long. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** How long SIGTERM waits for the current job before handing it back. */
  shutdownTimeoutMs: number;
  /** Runs and trained generators older than this are deleted (DFQ_RETENTION_DAYS; 0 keeps them). */
  retentionDays: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name}=${raw} must be a positive integer (milliseconds)`);
  return n;
}

function retentionDays(env: NodeJS.ProcessEnv): number {
  const raw = env.DFQ_RETENTION_DAYS;
  if (raw === undefined || raw.trim() === '') return 30;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`DFQ_RETENTION_DAYS=${raw} must be a number of days ≥ 0`);
  return n;
}

export function workerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  return {
    redisUrl: redisUrl(env),
    artifactsDir: resolve(env.DFQ_ARTIFACTS_DIR || 'artifacts'),
    evalDir: env.DFQ_EVAL_DIR || DEFAULT_FASHION_MNIST_DIR,
    lockDurationMs: positiveInt(env, 'DFQ_LOCK_DURATION_MS', 30_000),
    stalledIntervalMs: positiveInt(env, 'DFQ_STALLED_INTERVAL_MS', 15_000),
    shutdownTimeoutMs: positiveInt(env, 'DFQ_SHUTDOWN_TIMEOUT_MS', 60_000),
    retentionDays: retentionDays(env),
  };
}

/**
 * A file whose existence tells the sandboxes of worker `pid` to end their current job now, with
 * a retryable error, so the job goes back to the queue instead of holding up the shutdown.
 */
export function handBackFlag(pid: number): string {
  return join(tmpdir(), `dfq-worker-${pid}.hand-back`);
}
