import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { findRun } from '../runs/find-run.js';
import { readReport, runSummary } from '../runs/run-view.js';
import { errorResponses, runIdParams } from '../schemas/common.js';
import { runDetailSchema } from '../schemas/runs.js';

/** GET /v1/runs/:runId: options, state per stage, and the report once there is one. */
export function getRunRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { runId: string } }>(
    '/runs/:runId',
    {
      schema: {
        summary: 'Show a run',
        tags: ['runs'],
        params: runIdParams,
        response: { 200: runDetailSchema, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const run = await findRun(ctx, request.tenant, request.params.runId);
      const { state, stages, failedReason } = await ctx.runs.status(run);
      const report = await readReport(ctx.store, run);
      return { ...runSummary(run), options: run.options, state, stages, failedReason, report };
    },
  );
}
