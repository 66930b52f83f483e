import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ApiConfig, isLoopback, LOCAL_TENANT } from './config.js';
import { sendError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant the request's token belongs to; set for every /v1 route. */
    tenant: string;
  }
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

// Tokens are compared as digests: a Map lookup or timingSafeEqual on equal lengths leaks nothing useful.
const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `<scheme> <credentials>` and nothing more (RFC 6750 / 7617: one token68 after one space), so
 * `Bearer tok junk` is refused, not read as `tok`.
 */
const AUTHORIZATION = /^([A-Za-z]+) ([A-Za-z0-9\-._~+/]+=*)$/;

function credential(header: string | undefined, allowBasic: boolean): string | null {
  const match = AUTHORIZATION.exec(header ?? '');
  if (!match) return null;
  const [, scheme = '', value = ''] = match;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (allowBasic && scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return null;
}

/** Requests to a loopback host, and not sent by a web page of another site (DNS rebinding, CSRF). */
function isLocalRequest(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    const host = URL.canParse(origin) ? new URL(origin).hostname : '';
    if (!isLoopback(host)) return false;
  }
  return isLoopback(request.hostname);
}

/**
 * Maps `Authorization: Bearer <token>` to the token's tenant. With no tokens configured (allowed
 * on loopback only) every local request is tenant `local`.
 */
export function tenantAuth(config: ApiConfig): Hook {
  const tenants = new Map(
    [...config.tokens].map(([token, tenant]) => [digest(token).toString('hex'), tenant]),
  );
  return async (request, reply) => {
    if (tenants.size === 0) {
      if (!isLocalRequest(request)) {
        return sendError(
          reply,
          403,
          'without DFQ_API_TOKENS the API answers only local requests to a loopback address',
        );
      }
      request.tenant = LOCAL_TENANT;
      return;
    }
    const token = credential(request.headers.authorization, false);
    const tenant = token === null ? undefined : tenants.get(digest(token).toString('hex'));
    if (tenant === undefined) {
      reply.header('www-authenticate', 'Bearer');
      const why =
        token === null
          ? 'missing or malformed Authorization header: send exactly "Authorization: Bearer <token>"'
          : 'invalid API token';
      return sendError(reply, 401, why);
    }
    request.tenant = tenant;
  };
}

/** The dashboard's guard: Bearer <DFQ_ADMIN_TOKEN>, or Basic with it as password so a browser can log in. */
export function adminAuth(adminToken: string): Hook {
  const expected = digest(adminToken);
  return async (request, reply) => {
    const given = credential(request.headers.authorization, true);
    if (given !== null && timingSafeEqual(digest(given), expected)) return;
    reply.header('www-authenticate', 'Basic realm="dfq admin", charset="UTF-8"');
    return sendError(reply, 401, 'the queue dashboard needs Authorization: Bearer <DFQ_ADMIN_TOKEN>');
  };
}
