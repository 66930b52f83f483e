import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { checkModel } from '../models/check-model.js';
import { uploadModel } from '../models/upload-model.js';
import { documentBody } from '../openapi.js';
import { errorResponses } from '../schemas/common.js';
import { modelStoredSchema, modelUploadBody } from '../schemas/models.js';
import { limitBody } from '../uploads/limit-body.js';

/** POST /v1/models: upload a TF.js Layers model (files or one archive); it is checked before it is kept. */
export function uploadModelRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/models',
    {
      schema: {
        summary: 'Upload a model',
        tags: ['models'],
        response: { 201: modelStoredSchema, ...errorResponses(400, 401, 413, 415, 422, 429) },
      },
      config: { swaggerTransform: documentBody(modelUploadBody) },
      onRequest: limitBody(ctx.config.maxUploadBytes),
    },
    async (request, reply) => {
      const { checked: _, ...model } = await uploadModel(ctx, request, {
        fields: [],
        prepare: () => checkModel,
      });
      return reply.code(201).send(model);
    },
  );
}
