import { DFQ_VERSION } from '@dfq/core';
import type { SwaggerTransform } from '@fastify/swagger';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'dfq API',
        description: 'Upload TensorFlow.js Layers models and quantize them data-free in queued runs.',
        version: DFQ_VERSION,
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
  });
}

/**
 * Documents a request body other than the one fastify validates: multipart forms are streamed
 * rather than parsed into a body, and run options are validated by zod, not by the JSON schema.
 */
export function documentBody(body: object): SwaggerTransform {
  return ({ schema, url }) => ({ schema: { ...schema, body }, url });
}
