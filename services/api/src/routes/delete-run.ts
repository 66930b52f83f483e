import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { runPrefix } from '../keys.js';
import { findRun } from '../runs/find-run.js';
import { errorResponses, runIdParams } from '../schemas/common.js';

/**
 * DELETE /v1/runs/:runId: the run's artifacts (synthetic images included) and its record. A waiting
 * run is taken off the queues first; a running one must be cancelled and stopped before it goes.
 */
export function deleteRunRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.delete<{ Params: { runId: string } }>(
    '/runs/:runId',
    {
      schema: {
        summary: 'Delete a run and its artifacts',
        tags: ['runs'],
        params: runIdParams,
        response: {
          204: { type: 'null', description: 'Deleted' },
          ...errorResponses(400, 401, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const run = await findRun(ctx, request.tenant, request.params.runId);
      await ctx.runs.removePending(run);
      const { stages } = await ctx.runs.status(run);
      if (stages.some((s) => s.state === 'active'))
        throw new HttpError(
          409,
          `run ${run.runId} is running: cancel it (POST /v1/runs/${run.runId}/cancel), then delete it once it has stopped`,
        );
      await ctx.registry.remove(request.tenant, run.runId);
      await rm(ctx.store.path(runPrefix(request.tenant, run.runId)), { recursive: true, force: true });
      return reply.code(204).send();
    },
  );
}
