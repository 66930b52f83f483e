import type { FastifyInstance } from 'fastify';
import { PUBLIC } from '../schemas/common.js';
import { healthSchema } from '../schemas/health.js';

/** GET /healthz: the process is up (liveness); says nothing about Redis. */
export function healthzRoute(app: FastifyInstance): void {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', tags: ['health'], security: PUBLIC, response: { 200: healthSchema } } },
    async () => ({ status: 'ok' }),
  );
}
