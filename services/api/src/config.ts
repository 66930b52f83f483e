import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { DEFAULT_FASHION_MNIST_DIR, workerMemoryMiB } from '@dfq/contract';
import { queuePrefix, redisUrl, type TenantLimits, tenantLimitsFromEnv } from '@dfq/queue';

export interface ApiConfig {
  redisUrl: string;
  /** Key prefix of the queues and run registry (DFQ_QUEUE_PREFIX), shared with the workers. */
  queuePrefix: string;
  artifactsDir: string;
  /** Bearer token -> tenant. Empty: unauthenticated local use as tenant `local`, loopback only. */
  tokens: Map<string, string>;
  adminToken: string | null;
  port: number;
  host: string;
  maxUploadBytes: number;
  evalDir: string;
  /** What a shared worker gives one run (DFQ_WORKER_MEMORY_MIB, as the workers read it): runs that cannot fit are refused. */
  workerMemoryMiB: number;
  /** What one tenant may hold: active runs, schedules, models and their bytes, work per day. */
  limits: TenantLimits;
  /** Fastify's logger option: true for pino at info, false for silence, or pino options. */
  logger: boolean | { level: string };
}

export const LOCAL_TENANT = 'local';

/**
 * Tenant names become store folders and BullMQ scheduler ids (`<tenant>--<scheduleId>`). No '--'
 * and no leading or trailing '-', so one tenant's scheduler ids never start with another's prefix.
 */
const TENANT = /^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$/;

export function parseTokens(raw: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  if (!raw || raw.trim() === '') return tokens;
  for (const [i, pair] of raw.split(',').entries()) {
    // Tenants never hold '=', tokens may (base64 padding): split at the last one.
    const eq = pair.lastIndexOf('=');
    const token = pair.slice(0, eq).trim();
    const tenant = pair.slice(eq + 1).trim();
    const where = `DFQ_API_TOKENS entry ${i + 1}`;
    if (eq < 0 || token === '' || tenant === '') {
      throw new Error(
        `${where} is not token=tenant (DFQ_API_TOKENS is a comma-separated list of token=tenant pairs)`,
      );
    }
    if (/\s/.test(token)) throw new Error(`${where}: the token contains whitespace`);
    if (tenant.length > 64 || !TENANT.test(tenant)) {
      throw new Error(
        `${where}: tenant "${tenant}" must be 1-64 letters, digits, '_' or single '-' between them`,
      );
    }
    if (tokens.has(token)) throw new Error(`${where}: the same token is listed twice`);
    tokens.set(token, tenant);
  }
  return tokens;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name}=${raw} must be an integer from ${min} to ${max}`);
  }
  return n;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const admin = env.DFQ_ADMIN_TOKEN?.trim();
  return {
    redisUrl: redisUrl(env),
    queuePrefix: queuePrefix(env),
    artifactsDir: resolve(env.DFQ_ARTIFACTS_DIR || 'artifacts'),
    tokens: parseTokens(env.DFQ_API_TOKENS),
    adminToken: admin ? admin : null,
    port: integer(env, 'DFQ_PORT', 8080, 0, 65535),
    host: env.DFQ_HOST || '127.0.0.1',
    maxUploadBytes: integer(env, 'DFQ_MAX_UPLOAD_BYTES', 100 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    evalDir: env.DFQ_EVAL_DIR || DEFAULT_FASHION_MNIST_DIR,
    workerMemoryMiB: workerMemoryMiB(env),
    limits: tenantLimitsFromEnv(env),
    logger: { level: env.DFQ_LOG_LEVEL || 'info' },
  };
}

/** Throws on a configuration that would expose the API or the dashboard to the network unguarded. */
export function assertSafeConfig(config: ApiConfig): void {
  if (config.tokens.size === 0 && !isLoopback(config.host)) {
    throw new Error(
      `refusing to listen on ${config.host} without API tokens: anyone who can reach it could upload models ` +
        'and start runs. Set DFQ_API_TOKENS=token=tenant[,...] or listen on a loopback address (DFQ_HOST=127.0.0.1).',
    );
  }
  if (config.adminToken !== null && config.tokens.has(config.adminToken)) {
    throw new Error('DFQ_ADMIN_TOKEN must differ from every token in DFQ_API_TOKENS');
  }
}
