export const healthSchema = {
  type: 'object',
  properties: { status: { type: 'string' } },
  required: ['status'],
} as const;

export const readySchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready', 'unavailable'] }, reason: { type: 'string' } },
  required: ['status'],
} as const;
