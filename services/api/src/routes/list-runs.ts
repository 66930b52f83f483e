import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { runSummary } from '../runs/run-view.js';
import { errorResponses } from '../schemas/common.js';
import { listRunsQuery, runListSchema } from '../schemas/runs.js';

/** GET /v1/runs: the tenant's runs, newest first, each with its state. */
export function listRunsRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: { limit: number } }>(
    '/runs',
    {
      schema: {
        summary: "List the tenant's runs",
        tags: ['runs'],
        querystring: listRunsQuery,
        response: { 200: runListSchema, ...errorResponses(400, 401, 503) },
      },
    },
    async (request) => {
      const records = await ctx.registry.list(request.tenant, request.query.limit);
      const runs = await Promise.all(
        records.map(async (run) => ({ ...runSummary(run), state: (await ctx.runs.status(run)).state })),
      );
      return { runs };
    },
  );
}
