import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { STAGE_QUEUES, stageJobId } from './queue-names.js';
import { queuePrefix } from './redis-connection.js';

/**
 * What one tenant may hold of the shared service. Read from the environment by the API and by the
 * schedules worker alike, so a schedule's fired runs meet the limits an API request meets.
 */
export interface TenantLimits {
  /** Runs queued or running at once. */
  activeRuns: number;
  schedules: number;
  models: number;
  modelBytes: number;
  /**
   * Estimated work per UTC day, in tera multiply-accumulates (TMAC): each run's estimate
   * (runCostTmac) is charged when it is queued.
   */
  tmacPerDay: number;
}

export const TENANT_LIMIT_ENV: Record<keyof TenantLimits, { name: string; fallback: number }> = {
  activeRuns: { name: 'DFQ_TENANT_MAX_ACTIVE_RUNS', fallback: 50 },
  schedules: { name: 'DFQ_TENANT_MAX_SCHEDULES', fallback: 20 },
  models: { name: 'DFQ_TENANT_MAX_MODELS', fallback: 100 },
  modelBytes: { name: 'DFQ_TENANT_MAX_MODEL_BYTES', fallback: 4 * 1024 ** 3 },
  tmacPerDay: { name: 'DFQ_TENANT_TMAC_PER_DAY', fallback: 20_000 },
};

export function tenantLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): TenantLimits {
  const read = (key: keyof TenantLimits) => {
    const { name, fallback } = TENANT_LIMIT_ENV[key];
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} must be a number ≥ 0`);
    return n;
  };
  return {
    activeRuns: read('activeRuns'),
    schedules: read('schedules'),
    models: read('models'),
    modelBytes: read('modelBytes'),
    tmacPerDay: read('tmacPerDay'),
  };
}

/** A tenant at one of its limits: the message names the limit and its setting. */
export class TenantLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantLimitError';
  }
}

const today = () => new Date().toISOString().slice(0, 10);

/** How long a claimed run may take to appear on the queues before its claim counts as abandoned. */
const ENQUEUE_GRACE_MS = 60_000;

const FINISHED = new Set(['completed', 'failed', 'unknown']);

/**
 * Each tenant's active runs and daily work, kept in Redis beside the run registry. Active runs are
 * a sorted set of run ids (scored by when they were claimed), pruned when asked: a run whose last
 * stage (quantize) has finished or vanished leaves it, so nothing has to remember to take a run out.
 */
export class TenantUsage {
  private readonly quantize: Queue;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string = queuePrefix(),
  ) {
    this.quantize = new Queue(STAGE_QUEUES.quantize, { connection: redis, prefix });
    this.quantize.on('error', () => {});
  }

  private activeKey(tenant: string): string {
    return `${this.prefix}:dfq-tenant:${tenant}:active`;
  }

  private costKey(tenant: string, day: string): string {
    return `${this.prefix}:dfq-tenant:${tenant}:tmac:${day}`;
  }

  /** The tenant's runs not yet finished (queued, waiting for a stage, or running). */
  async activeRuns(tenant: string): Promise<number> {
    const key = this.activeKey(tenant);
    const claims = await this.redis.zrange(key, 0, -1, 'WITHSCORES');
    let active = 0;
    for (let i = 0; i < claims.length; i += 2) {
      const id = claims[i] as string;
      const claimedAt = Number(claims[i + 1]);
      const state = await this.quantize.getJobState(stageJobId(id, 'quantize'));
      // A claim whose jobs are not queued yet is a run being created, for a grace period; once
      // queued (score 0) a run without jobs has been cancelled or removed.
      const settled = state !== 'unknown' || claimedAt === 0 || Date.now() - claimedAt > ENQUEUE_GRACE_MS;
      if (settled && FINISHED.has(state)) await this.redis.zrem(key, id);
      else active++;
    }
    return active;
  }

  /**
   * Claims a place for a run and charges its cost to today, or throws TenantLimitError with
   * nothing claimed. Claim first and count after, so concurrent requests cannot both slip under a
   * limit. Returns how many of the tenant's runs were active before this one (its fair-share rank).
   */
  async claim(tenant: string, runId: string, tmac: number, limits: TenantLimits): Promise<number> {
    const costKey = this.costKey(tenant, today());
    await this.redis.zadd(this.activeKey(tenant), Date.now(), runId);
    const spent = Number(await this.redis.incrbyfloat(costKey, tmac));
    await this.redis.expire(costKey, 3 * 24 * 3600);
    const active = await this.activeRuns(tenant);
    if (active > limits.activeRuns) {
      await this.release(tenant, runId, tmac);
      throw new TenantLimitError(
        `tenant ${tenant} has ${active - 1} runs queued or running, its limit (${TENANT_LIMIT_ENV.activeRuns.name}=${limits.activeRuns}); wait for one to finish or cancel one`,
      );
    }
    if (spent > limits.tmacPerDay) {
      await this.release(tenant, runId, tmac);
      throw new TenantLimitError(
        `this run's estimated ${tmac.toPrecision(3)} TMAC would take tenant ${tenant} to ${spent.toPrecision(4)} TMAC today (UTC), above its ${limits.tmacPerDay} TMAC a day (${TENANT_LIMIT_ENV.tmacPerDay.name}); use fewer images, iterations or steps, or wait until tomorrow`,
      );
    }
    return active - 1;
  }

  /** Marks a claimed run as queued: from now on, its jobs' absence means it has gone. */
  async queued(tenant: string, runId: string): Promise<void> {
    await this.redis.zadd(this.activeKey(tenant), 'XX', 0, runId);
  }

  /** Gives back a claim whose run could not be queued. */
  async release(tenant: string, runId: string, tmac: number): Promise<void> {
    await this.redis.zrem(this.activeKey(tenant), runId);
    await this.redis.incrbyfloat(this.costKey(tenant, today()), -tmac);
  }

  async close(): Promise<void> {
    await this.quantize.close();
  }
}
