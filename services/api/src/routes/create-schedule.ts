import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { admitRun } from '../models/check-model.js';
import { findModel } from '../models/find-model.js';
import { documentBody } from '../openapi.js';
import { checkScheduleQuota } from '../quotas.js';
import { parseRunOptions } from '../run-options.js';
import { checkCron, checkTimezone } from '../schedules/check-schedule.js';
import { scheduleView } from '../schedules/schedule-view.js';
import { errorResponses } from '../schemas/common.js';
import { createScheduleBody, createScheduleJson, scheduleSchema } from '../schemas/schedules.js';

interface ScheduleBody {
  scheduleId?: string;
  cron: string;
  timezone: string;
  modelId: string;
  options?: unknown;
}

/** POST /v1/schedules: run a stored model on a cron pattern; an existing schedule id is replaced. */
export function createScheduleRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: ScheduleBody }>(
    '/schedules',
    {
      schema: {
        summary: 'Create or replace a schedule',
        tags: ['schedules'],
        body: createScheduleJson,
        response: { 201: scheduleSchema, ...errorResponses(400, 401, 404, 413, 422, 429, 503) },
      },
      config: { swaggerTransform: documentBody(createScheduleBody) },
    },
    async (request, reply) => {
      const { cron, timezone, modelId } = request.body;
      const scheduleId = request.body.scheduleId ?? randomUUID();
      checkTimezone(timezone);
      checkCron(cron, timezone);
      const options = parseRunOptions(request.body.options, ctx.config.evalDir);
      const key = await findModel(ctx, request.tenant, modelId);
      const { tmac } = await admitRun(ctx, options)(ctx.store.path(key));
      await checkScheduleQuota(ctx, request.tenant, scheduleId);
      await ctx.schedules.upsert(request.tenant, scheduleId, cron, timezone, key, options, tmac);
      const stored = (await ctx.schedules.list(request.tenant)).find((s) => s.scheduleId === scheduleId);
      const view = stored
        ? scheduleView(stored)
        : { scheduleId, cron, timezone, modelId, options, next: null };
      return reply.code(201).send(view);
    },
  );
}
