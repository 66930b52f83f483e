import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/** Logs when Redis goes away and comes back, once each, instead of at every reconnect attempt. */
export function watchRedis(redis: Redis, log: FastifyBaseLogger): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn(`redis unavailable (${err.message}); /readyz answers 503 until it is back`);
  });
  redis.on('ready', () => {
    if (down) log.info('redis available again');
    down = false;
  });
}
