import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerDashboard } from './admin-dashboard.js';
import { tenantAuth } from './auth.js';
import { type ApiConfig, assertSafeConfig } from './config.js';
import { closeContext, createContext } from './context.js';
import { errorHandler } from './error-handler.js';
import { registerOpenApi } from './openapi.js';
import { watchRedis } from './redis-watch.js';
import { PUBLIC_ROUTES, TENANT_ROUTES } from './routes/index.js';
import { MAX_FILES } from './uploads/staging.js';

const JSON_BODY_LIMIT = 1024 * 1024;

/** The API as a fastify instance, not yet listening (tests use inject() or listen on port 0). */
export async function buildApi(config: ApiConfig): Promise<FastifyInstance> {
  assertSafeConfig(config);
  const ctx = createContext(config);
  const app = Fastify({
    logger: config.logger,
    bodyLimit: JSON_BODY_LIMIT,
    // Unknown JSON fields are refused with a message rather than silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });
  try {
    app.decorateRequest('tenant', '');
    app.addHook('onClose', () => closeContext(ctx));
    app.setErrorHandler(errorHandler(config.maxUploadBytes));
    // Bodies are JSON or multipart; Fastify's built-in text/plain parser would hand a route a string.
    app.removeContentTypeParser('text/plain');
    watchRedis(ctx.redis, app.log);
    await app.register(multipart, {
      // Keep the client's file names whole: ours, not busboy's basename, decides what is refused.
      preservePath: true,
      limits: {
        fileSize: config.maxUploadBytes,
        files: MAX_FILES,
        fields: 4,
        fieldSize: 1024 * 1024,
        parts: MAX_FILES + 4,
      },
    });
    await registerOpenApi(app);
    for (const route of PUBLIC_ROUTES) route(app, ctx);
    await app.register(
      async (v1) => {
        v1.addHook('onRequest', tenantAuth(config));
        for (const route of TENANT_ROUTES) route(v1, ctx);
      },
      { prefix: '/v1' },
    );
    await registerDashboard(app, ctx);
    return app;
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
}
