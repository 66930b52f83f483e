import { Redis, type RedisOptions } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Key prefix of every queue and registry key. Deployments sharing one Redis, and tests running
 * side by side, keep apart by choosing different prefixes (DFQ_QUEUE_PREFIX).
 */
export function queuePrefix(env: NodeJS.ProcessEnv = process.env): string {
  return env.DFQ_QUEUE_PREFIX || 'dfq';
}

export function redisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.DFQ_REDIS_URL || DEFAULT_REDIS_URL;
}

/**
 * A Redis connection for BullMQ. Workers need maxRetriesPerRequest: null (BullMQ's rule for
 * blocking connections); producers fail fast instead, so an API call never hangs on a dead Redis.
 */
export function createRedis(url: string, role: 'worker' | 'producer'): Redis {
  const options: RedisOptions =
    role === 'worker' ? { maxRetriesPerRequest: null, enableReadyCheck: true } : { maxRetriesPerRequest: 2 };
  const redis = new Redis(url, options);
  // Without a listener ioredis would print every reconnect attempt as an unhandled error.
  redis.on('error', () => {});
  return redis;
}
