import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { notFound } from '../http-error.js';
import { runPrefix } from '../keys.js';
import { contentType } from '../runs/content-type.js';
import { findRun } from '../runs/find-run.js';
import { errorResponses } from '../schemas/common.js';
import { artifactParams } from '../schemas/runs.js';
import { safeEntryPath } from '../uploads/entry-path.js';

/** GET /v1/runs/:runId/artifacts/*: one artifact's bytes, with its sha256 in x-dfq-sha256. */
export function getArtifactRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { runId: string; '*': string } }>(
    '/runs/:runId/artifacts/*',
    {
      schema: {
        summary: 'Download an artifact',
        tags: ['runs'],
        params: artifactParams,
        response: {
          200: { description: 'The file; x-dfq-sha256 holds its digest', type: 'string', format: 'binary' },
          ...errorResponses(400, 401, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const run = await findRun(ctx, request.tenant, request.params.runId);
      // Refuses '..' and absolute keys, so a key can only name a file inside this run's folder.
      const rel = safeEntryPath(request.params['*'] ?? '', 'artifact key');
      if (rel === null) throw notFound('no artifact key given');
      const key = `${runPrefix(run.tenant, run.runId)}/${rel}`;
      const found = await stat(ctx.store.path(key)).catch(() => null);
      if (!found?.isFile()) throw notFound(`run ${run.runId} has no artifact ${rel}`);
      const ref = await ctx.store.ref(key);
      return reply
        .header('content-type', contentType(rel))
        .header('content-length', ref.bytes)
        .header('x-dfq-sha256', ref.sha256)
        .header('x-content-type-options', 'nosniff')
        .send(createReadStream(ctx.store.path(key)));
    },
  );
}
