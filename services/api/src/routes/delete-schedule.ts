import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { notFound } from '../http-error.js';
import { errorResponses } from '../schemas/common.js';
import { scheduleIdParams } from '../schemas/schedules.js';

/** DELETE /v1/schedules/:scheduleId: stops it firing; runs it already started are not touched. */
export function deleteScheduleRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.delete<{ Params: { scheduleId: string } }>(
    '/schedules/:scheduleId',
    {
      schema: {
        summary: 'Delete a schedule',
        tags: ['schedules'],
        params: scheduleIdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      const { scheduleId } = request.params;
      // The scheduler id embeds the tenant, so another tenant's schedule of that name is never touched.
      if (!(await ctx.schedules.remove(request.tenant, scheduleId))) {
        throw notFound(`schedule ${scheduleId} not found`);
      }
      return reply.code(204).send();
    },
  );
}
