import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { findRun } from '../runs/find-run.js';
import { errorResponses, runIdParams } from '../schemas/common.js';
import { cancelledSchema } from '../schemas/runs.js';

/** POST /v1/runs/:runId/cancel: waiting stages are dropped; a running stage stops at its next progress check. */
export function cancelRunRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: { runId: string } }>(
    '/runs/:runId/cancel',
    {
      schema: {
        summary: 'Cancel a run',
        tags: ['runs'],
        params: runIdParams,
        response: { 202: cancelledSchema, ...errorResponses(400, 401, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const run = await findRun(ctx, request.tenant, request.params.runId);
      const { state } = await ctx.runs.status(run);
      if (state === 'completed' || state === 'failed') {
        throw new HttpError(409, `run ${run.runId} has already ${state}`);
      }
      await ctx.registry.markCancelled(request.tenant, run.runId);
      await ctx.runs.removePending(run);
      return reply.code(202).send({ runId: run.runId, state: 'cancelled' });
    },
  );
}
