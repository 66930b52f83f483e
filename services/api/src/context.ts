import { ArtifactStore } from '@dfq/core';
import {
  createFlowProducer,
  createRedis,
  RunRegistry,
  RunStatusReader,
  Schedules,
  TenantUsage,
} from '@dfq/queue';
import type { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ApiConfig } from './config.js';

/** What every route handler works with: the store, and the queue producers on one Redis connection. */
export interface ApiContext {
  config: ApiConfig;
  store: ArtifactStore;
  redis: Redis;
  registry: RunRegistry;
  flows: FlowProducer;
  runs: RunStatusReader;
  schedules: Schedules;
  usage: TenantUsage;
}

export function createContext(config: ApiConfig): ApiContext {
  const redis = createRedis(config.redisUrl, 'producer');
  const runs = new RunStatusReader(redis, config.queuePrefix);
  const schedules = new Schedules(redis, config.queuePrefix);
  return {
    config,
    store: new ArtifactStore(config.artifactsDir),
    redis,
    registry: new RunRegistry(redis, config.queuePrefix),
    flows: createFlowProducer(redis, config.queuePrefix),
    runs,
    schedules,
    usage: new TenantUsage(redis, config.queuePrefix),
  };
}

/** Closes the queues first (they share the connection), then the connection itself. */
export async function closeContext(ctx: ApiContext): Promise<void> {
  await Promise.allSettled([ctx.flows.close(), ctx.runs.close(), ctx.schedules.close(), ctx.usage.close()]);
  await ctx.redis.quit().catch(() => ctx.redis.disconnect());
}
