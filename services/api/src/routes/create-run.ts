import { rm } from 'node:fs/promises';
import { createRun, type RunOptions } from '@dfq/queue';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { badRequest } from '../http-error.js';
import { modelKey, modelPrefix } from '../keys.js';
import { admitRun } from '../models/check-model.js';
import { findModel } from '../models/find-model.js';
import { uploadModel } from '../models/upload-model.js';
import { documentBody } from '../openapi.js';
import { parseOptionsField, parseRunOptions } from '../run-options.js';
import { errorResponses } from '../schemas/common.js';
import { createRunBody, createRunJson, runCreatedSchema } from '../schemas/runs.js';
import { limitBody } from '../uploads/limit-body.js';

interface RunBody {
  modelId: string;
  options?: unknown;
}

/** A model already uploaded: it must be the tenant's, and load the way the run's options need. */
async function fromStoredModel(ctx: ApiContext, request: FastifyRequest) {
  const body = request.body as RunBody | undefined;
  if (!body) throw badRequest('send JSON {"modelId": ..., "options": {...}} or a multipart model upload');
  const options = parseRunOptions(body.options, ctx.config.evalDir);
  const key = await findModel(ctx, request.tenant, body.modelId);
  const { tmac } = await admitRun(ctx, options)(ctx.store.path(key));
  return { modelId: body.modelId, options, tmac, uploaded: false };
}

/** A model uploaded in the same request, with the options as a JSON form field. */
async function fromUpload(ctx: ApiContext, request: FastifyRequest) {
  let options: RunOptions | undefined;
  const model = await uploadModel(ctx, request, {
    fields: ['options'],
    prepare: (fields) => {
      options = parseOptionsField(fields.options, ctx.config.evalDir);
      return admitRun(ctx, options as RunOptions);
    },
  });
  return { modelId: model.modelId, options: options as RunOptions, tmac: model.checked.tmac, uploaded: true };
}

/** POST /v1/runs: queue a run of a stored model, or upload a model and queue its run in one call. */
export function createRunRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/runs',
    {
      schema: {
        summary: 'Queue a run',
        tags: ['runs'],
        body: { content: { 'application/json': { schema: createRunJson } } },
        response: { 201: runCreatedSchema, ...errorResponses(400, 401, 404, 413, 415, 422, 429, 503) },
      },
      config: { swaggerTransform: documentBody(createRunBody) },
      onRequest: limitBody(ctx.config.maxUploadBytes),
    },
    async (request, reply) => {
      const { modelId, options, tmac, uploaded } = request.isMultipart()
        ? await fromUpload(ctx, request)
        : await fromStoredModel(ctx, request);
      const tenant = request.tenant;
      const run = await createRun(
        {
          registry: ctx.registry,
          flows: ctx.flows,
          admission: { usage: ctx.usage, limits: ctx.config.limits },
        },
        { tenant, modelKey: modelKey(tenant, modelId), options, source: 'api', tmac },
      ).catch(async (err) => {
        // A model uploaded only for a run that was refused is not kept.
        if (uploaded)
          await rm(ctx.store.path(modelPrefix(tenant, modelId)), { recursive: true, force: true });
        throw err;
      });
      return reply.code(201).send({ runId: run.runId, modelId });
    },
  );
}
