import type { FastifyInstance } from 'fastify';

/** GET /openapi.json: the OpenAPI 3 document @fastify/swagger builds from the route schemas. */
export function openapiJsonRoute(app: FastifyInstance): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
