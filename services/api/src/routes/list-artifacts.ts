import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { runPrefix } from '../keys.js';
import { findRun } from '../runs/find-run.js';
import { errorResponses, runIdParams } from '../schemas/common.js';
import { artifactListSchema } from '../schemas/runs.js';

/** GET /v1/runs/:runId/artifacts: every file the run has written so far, with size and digest. */
export function listArtifactsRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { runId: string } }>(
    '/runs/:runId/artifacts',
    {
      schema: {
        summary: "List a run's artifacts",
        tags: ['runs'],
        params: runIdParams,
        response: { 200: artifactListSchema, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const run = await findRun(ctx, request.tenant, request.params.runId);
      const prefix = runPrefix(run.tenant, run.runId);
      const refs = await ctx.store.list(prefix);
      return {
        artifacts: refs.map((r) => ({
          key: r.key.slice(prefix.length + 1),
          bytes: r.bytes,
          sha256: r.sha256,
        })),
      };
    },
  );
}
