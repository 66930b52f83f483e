/** Schema pieces shared by the routes: fastify validates and serializes with them, and the OpenAPI document shows them. */

export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string', description: 'What went wrong and what to do about it' },
  },
  required: ['statusCode', 'error', 'message'],
} as const;

const ERROR_MEANINGS: Record<number, string> = {
  400: 'The request is malformed',
  401: 'Missing or invalid bearer token',
  403: 'Refused',
  404: 'No such resource for this tenant',
  409: 'The resource is in a state that does not allow this',
  413: 'The upload is over the size limit',
  415: 'Wrong content type',
  422: 'The model cannot be used',
  503: 'The queue store (Redis) is unavailable',
};

/** Error responses for the given status codes, each with the common error body. */
export function errorResponses(...codes: number[]): Record<number, object> {
  return Object.fromEntries(
    codes.map((code) => [code, { ...errorSchema, description: ERROR_MEANINGS[code] }]),
  );
}

export const runIdParams = {
  type: 'object',
  properties: { runId: { type: 'string', format: 'uuid' } },
  required: ['runId'],
} as const;

export const modelIdParams = {
  type: 'object',
  properties: { modelId: { type: 'string', format: 'uuid' } },
  required: ['modelId'],
} as const;

/** Any JSON object, passed through as it is (fast-json-stringify keeps every property). */
export const anyObject = { type: 'object', additionalProperties: true } as const;

/** Routes outside /v1 need no token. */
export const PUBLIC = [] as const;
