import { anyObject } from './common.js';
import { modelUploadForm } from './models.js';
import { runOptionsDoc } from './run-options-doc.js';

/** What fastify validates of a JSON run request; the options are validated by zod. */
export const createRunJson = {
  type: 'object',
  properties: {
    modelId: { type: 'string', format: 'uuid' },
    options: anyObject,
  },
  required: ['modelId'],
  additionalProperties: false,
} as const;

/** Both forms of POST /v1/runs, for the OpenAPI document. */
export const createRunBody = {
  content: {
    'application/json': {
      schema: { ...createRunJson, properties: { ...createRunJson.properties, options: runOptionsDoc } },
    },
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: {
          ...modelUploadForm.properties,
          options: { type: 'string', description: 'Run options as a JSON object (see the JSON form)' },
        },
      },
    },
  },
} as const;

export const runCreatedSchema = {
  type: 'object',
  properties: { runId: { type: 'string', format: 'uuid' }, modelId: { type: 'string', format: 'uuid' } },
  required: ['runId', 'modelId'],
} as const;

const runState = { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] } as const;

const runSummaryProperties = {
  runId: { type: 'string', format: 'uuid' },
  modelId: { type: 'string', nullable: true },
  createdAt: { type: 'string', format: 'date-time' },
  source: { type: 'string', enum: ['api', 'schedule', 'cli'] },
  scheduleId: { type: 'string', nullable: true },
  state: runState,
} as const;

export const runListSchema = {
  type: 'object',
  properties: {
    runs: {
      type: 'array',
      items: { type: 'object', properties: runSummaryProperties, required: ['runId', 'createdAt', 'state'] },
    },
  },
  required: ['runs'],
} as const;

export const listRunsQuery = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
  additionalProperties: false,
} as const;

const stageSchema = {
  type: 'object',
  properties: {
    stage: { type: 'string', enum: ['synthesize', 'calibrate', 'quantize'] },
    state: { type: 'string', description: "BullMQ job state, or 'missing' once the job is removed" },
    progress: {
      description:
        "The stage's last progress report: {stage, phase, message, synthesis, distillation, evaluation, at} (JobProgress in @dfq/contract)",
    },
    attempts: { type: 'integer' },
    failedReason: { type: 'string', nullable: true },
  },
} as const;

export const runDetailSchema = {
  type: 'object',
  properties: {
    ...runSummaryProperties,
    options: anyObject,
    stages: { type: 'array', items: stageSchema },
    failedReason: { type: 'string', nullable: true },
    report: {
      ...anyObject,
      nullable: true,
      description: "The run's report.json once the run has written it",
    },
  },
  required: ['runId', 'state', 'stages', 'options'],
} as const;

export const artifactListSchema = {
  type: 'object',
  properties: {
    artifacts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: { type: 'string', description: "Path inside the run's folder" },
          bytes: { type: 'integer' },
          sha256: { type: 'string' },
        },
      },
    },
  },
  required: ['artifacts'],
} as const;

export const artifactParams = {
  type: 'object',
  properties: { runId: { type: 'string', format: 'uuid' }, '*': { type: 'string' } },
  required: ['runId'],
} as const;

export const cancelledSchema = {
  type: 'object',
  properties: { runId: { type: 'string', format: 'uuid' }, state: { type: 'string', enum: ['cancelled'] } },
  required: ['runId', 'state'],
} as const;
