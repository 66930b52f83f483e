import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { generatorPrefix, modelKey, modelPrefix } from '../keys.js';
import { findModel } from '../models/find-model.js';
import { errorResponses, modelIdParams } from '../schemas/common.js';

/**
 * DELETE /v1/models/:modelId: the model's files and the generators trained on it. Refused while a
 * schedule still runs it; runs made from it keep their own artifacts (delete them by run).
 */
export function deleteModelRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.delete<{ Params: { modelId: string } }>(
    '/models/:modelId',
    {
      schema: {
        summary: 'Delete a model and the generators trained on it',
        tags: ['models'],
        params: modelIdParams,
        response: {
          204: { type: 'null', description: 'Deleted' },
          ...errorResponses(400, 401, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const { tenant } = request;
      const { modelId } = request.params;
      await findModel(ctx, tenant, modelId);
      const using = (await ctx.schedules.list(tenant)).filter(
        (s) => s.modelKey === modelKey(tenant, modelId),
      );
      if (using.length > 0)
        throw new HttpError(
          409,
          `model ${modelId} is run by schedule(s) ${using.map((s) => s.scheduleId).join(', ')}: delete them first`,
        );
      await rm(ctx.store.path(modelPrefix(tenant, modelId)), { recursive: true, force: true });
      await rm(ctx.store.path(generatorPrefix(tenant, modelId)), { recursive: true, force: true });
      return reply.code(204).send();
    },
  );
}
