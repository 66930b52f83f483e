import type { Redis } from 'ioredis';
import { queuePrefix } from './redis-connection.js';
import type { RunOptions } from './run-request.js';

export interface RunRecord {
  runId: string;
  tenant: string;
  modelKey: string;
  options: RunOptions;
  createdAt: string;
  source: 'api' | 'schedule' | 'cli';
  scheduleId: string | null;
  cancelled: boolean;
}

/**
 * Who owns which run, kept in Redis beside the queues. Every read takes the caller's tenant
 * and answers as if a run of another tenant did not exist.
 */
export class RunRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string = queuePrefix(),
  ) {}

  private runKey(runId: string): string {
    return `${this.prefix}:dfq-run:${runId}`;
  }

  private tenantRunsKey(tenant: string): string {
    return `${this.prefix}:dfq-tenant:${tenant}:runs`;
  }

  async create(record: RunRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.runKey(record.runId), JSON.stringify(record))
      .zadd(this.tenantRunsKey(record.tenant), Date.parse(record.createdAt), record.runId)
      .exec();
  }

  async get(tenant: string, runId: string): Promise<RunRecord | null> {
    const text = await this.redis.get(this.runKey(runId));
    if (!text) return null;
    const record = JSON.parse(text) as RunRecord;
    return record.tenant === tenant ? record : null;
  }

  /** Newest first. */
  async list(tenant: string, limit = 100): Promise<RunRecord[]> {
    const ids = await this.redis.zrevrange(this.tenantRunsKey(tenant), 0, limit - 1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.runKey(id)));
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as RunRecord);
  }

  /** Forgets a run (its artifacts are the caller's to delete). */
  async remove(tenant: string, runId: string): Promise<void> {
    await this.redis.multi().del(this.runKey(runId)).zrem(this.tenantRunsKey(tenant), runId).exec();
  }

  /** The tenant's run ids created before `cutoffMs` (epoch ms), oldest first. */
  async createdBefore(tenant: string, cutoffMs: number, limit = 1000): Promise<string[]> {
    return this.redis.zrangebyscore(this.tenantRunsKey(tenant), 0, `(${cutoffMs}`, 'LIMIT', 0, limit);
  }

  /** Every tenant that has runs, for housekeeping across tenants (retention). */
  async tenants(): Promise<string[]> {
    const found = new Set<string>();
    const pattern = this.tenantRunsKey('*');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (const key of keys) found.add(key.slice(pattern.indexOf('*'), key.length - ':runs'.length));
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  }

  async markCancelled(tenant: string, runId: string): Promise<boolean> {
    const record = await this.get(tenant, runId);
    if (!record) return false;
    await this.redis.set(this.runKey(runId), JSON.stringify({ ...record, cancelled: true }));
    return true;
  }

  /** Workers ask this between steps, so a cancelled run stops at the next progress report. */
  async isCancelled(runId: string): Promise<boolean> {
    const text = await this.redis.get(this.runKey(runId));
    return text ? (JSON.parse(text) as RunRecord).cancelled : false;
  }
}
