import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { PUBLIC } from '../schemas/common.js';
import { readySchema } from '../schemas/health.js';

const PING_TIMEOUT_MS = 1000;

async function redisAnswers(ctx: ApiContext): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  const ping = ctx.redis.ping().then(
    (answer) => answer === 'PONG',
    () => false,
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** GET /readyz: 200 while Redis answers PING, so a load balancer sends requests only when runs can be queued. */
export function readyzRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        tags: ['health'],
        security: PUBLIC,
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      if (await redisAnswers(ctx)) return { status: 'ready' };
      return reply.code(503).send({ status: 'unavailable', reason: 'redis does not answer PING' });
    },
  );
}
