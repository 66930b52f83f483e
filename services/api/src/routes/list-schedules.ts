import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { scheduleView } from '../schedules/schedule-view.js';
import { errorResponses } from '../schemas/common.js';
import { scheduleListSchema } from '../schemas/schedules.js';

/** GET /v1/schedules: the tenant's schedules with their next firing time. */
export function listSchedulesRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/schedules',
    {
      schema: {
        summary: "List the tenant's schedules",
        tags: ['schedules'],
        response: { 200: scheduleListSchema, ...errorResponses(401, 503) },
      },
    },
    async (request) => ({ schedules: (await ctx.schedules.list(request.tenant)).map(scheduleView) }),
  );
}
