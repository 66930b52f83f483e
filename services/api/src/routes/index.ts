import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { cancelRunRoute } from './cancel-run.js';
import { createRunRoute } from './create-run.js';
import { createScheduleRoute } from './create-schedule.js';
import { deleteModelRoute } from './delete-model.js';
import { deleteRunRoute } from './delete-run.js';
import { deleteScheduleRoute } from './delete-schedule.js';
import { getArtifactRoute } from './get-artifact.js';
import { getRunRoute } from './get-run.js';
import { healthzRoute } from './healthz.js';
import { listArtifactsRoute } from './list-artifacts.js';
import { listRunsRoute } from './list-runs.js';
import { listSchedulesRoute } from './list-schedules.js';
import { openapiJsonRoute } from './openapi-json.js';
import { readyzRoute } from './readyz.js';
import { uploadModelRoute } from './upload-model.js';

type Route = (app: FastifyInstance, ctx: ApiContext) => void;

/** Routes anyone may call. */
export const PUBLIC_ROUTES: Route[] = [healthzRoute, readyzRoute, openapiJsonRoute];

/** Routes under /v1, each behind the bearer token of a tenant. */
export const TENANT_ROUTES: Route[] = [
  uploadModelRoute,
  deleteModelRoute,
  createRunRoute,
  listRunsRoute,
  getRunRoute,
  listArtifactsRoute,
  getArtifactRoute,
  cancelRunRoute,
  deleteRunRoute,
  createScheduleRoute,
  listSchedulesRoute,
  deleteScheduleRoute,
];
