import { anyObject } from './common.js';
import { runOptionsDoc } from './run-options-doc.js';

export const SCHEDULE_ID = '^[A-Za-z0-9_-]{1,64}$';

export const createScheduleJson = {
  type: 'object',
  properties: {
    scheduleId: {
      type: 'string',
      pattern: SCHEDULE_ID,
      description: 'Defaults to a new uuid; an existing id is replaced',
    },
    cron: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'Cron pattern (5 fields, or 6 with seconds)',
    },
    timezone: { type: 'string', default: 'UTC', description: 'IANA time zone the pattern is read in' },
    modelId: { type: 'string', format: 'uuid' },
    options: anyObject,
  },
  required: ['cron', 'modelId'],
  additionalProperties: false,
} as const;

export const createScheduleBody = {
  content: {
    'application/json': {
      schema: {
        ...createScheduleJson,
        properties: { ...createScheduleJson.properties, options: runOptionsDoc },
      },
    },
  },
} as const;

export const scheduleSchema = {
  type: 'object',
  properties: {
    scheduleId: { type: 'string' },
    cron: { type: 'string' },
    timezone: { type: 'string' },
    modelId: { type: 'string', nullable: true },
    options: anyObject,
    next: { type: 'string', format: 'date-time', nullable: true, description: 'When it fires next' },
  },
  required: ['scheduleId', 'cron', 'timezone'],
} as const;

export const scheduleListSchema = {
  type: 'object',
  properties: { schedules: { type: 'array', items: scheduleSchema } },
  required: ['schedules'],
} as const;

export const scheduleIdParams = {
  type: 'object',
  properties: { scheduleId: { type: 'string', pattern: SCHEDULE_ID } },
  required: ['scheduleId'],
} as const;
