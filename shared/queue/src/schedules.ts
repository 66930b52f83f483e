import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SCHEDULE_QUEUE } from './queue-names.js';
import { queuePrefix } from './redis-connection.js';
import type { RunOptions } from './run-request.js';

/** What a schedule's fired job carries: enough to create a run. */
export interface ScheduleJobData {
  tenant: string;
  scheduleId: string;
  modelKey: string;
  options: RunOptions;
  /** Each fired run's estimated work (TMAC), charged to the tenant's day as an API request's is. */
  tmac?: number;
}

export interface ScheduleInfo {
  scheduleId: string;
  cron: string;
  timezone: string;
  modelKey: string;
  options: RunOptions;
  next: number | null;
}

/** Tenant-scoped schedules on BullMQ job schedulers; the scheduler id embeds the tenant. */
export class Schedules {
  readonly queue: Queue;

  constructor(connection: Redis, prefix: string = queuePrefix()) {
    this.queue = new Queue(SCHEDULE_QUEUE, { connection, prefix });
    this.queue.on('error', () => {});
  }

  private id(tenant: string, scheduleId: string): string {
    return `${tenant}--${scheduleId}`;
  }

  async upsert(
    tenant: string,
    scheduleId: string,
    cron: string,
    timezone: string,
    modelKey: string,
    options: RunOptions,
    tmac = 0,
  ): Promise<void> {
    const data: ScheduleJobData = { tenant, scheduleId, modelKey, options, tmac };
    await this.queue.upsertJobScheduler(
      this.id(tenant, scheduleId),
      { pattern: cron, tz: timezone },
      { name: 'scheduled-run', data, opts: { removeOnComplete: 1000, removeOnFail: 1000 } },
    );
  }

  async list(tenant: string): Promise<ScheduleInfo[]> {
    const all = await this.queue.getJobSchedulers(0, -1, true);
    return all
      .filter((s) => s.key.startsWith(`${tenant}--`))
      .map((s) => {
        const data = s.template?.data as ScheduleJobData;
        return {
          scheduleId: s.key.slice(tenant.length + 2),
          cron: s.pattern ?? '',
          timezone: s.tz ?? 'UTC',
          modelKey: data.modelKey,
          options: data.options,
          next: s.next ?? null,
        };
      });
  }

  async remove(tenant: string, scheduleId: string): Promise<boolean> {
    return this.queue.removeJobScheduler(this.id(tenant, scheduleId));
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
