import { STATUS_CODES } from 'node:http';
import { TenantLimitError } from '@dfq/queue';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './http-error.js';
import { uploadLimitMessage } from './uploads/byte-budget.js';
import { UnsafePathError } from './uploads/entry-path.js';
import { MAX_FILES } from './uploads/staging.js';

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message });
}

/** ioredis fails fast when Redis is down (enableOfflineQueue: false); those errors are a 503, not a bug. */
function isRedisDown(err: Error): boolean {
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED/.test(err.message)
  );
}

/** The status and client-facing message of any error a handler or plugin throws. */
export function describeError(err: FastifyError | Error, maxUploadBytes: number): [number, string] {
  if (err instanceof HttpError) return [err.statusCode, err.message];
  if (err instanceof UnsafePathError) return [400, err.message];
  if (err instanceof TenantLimitError) return [429, err.message];
  switch ((err as FastifyError).code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return [413, uploadLimitMessage(maxUploadBytes)];
    case 'FST_FILES_LIMIT':
      return [413, `an upload may hold at most ${MAX_FILES} files`];
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return [415, `${err.message}: send application/json, or multipart/form-data to upload a model`];
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return [413, 'the form has too many parts'];
  }
  if (isRedisDown(err)) return [503, 'the queue store (Redis) is unavailable; try again shortly'];
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return [status, err.message];
  return [500, 'internal error; the server log has the details'];
}

export function errorHandler(maxUploadBytes: number) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const [status, message] = describeError(err, maxUploadBytes);
    if (status >= 500) request.log.error({ err }, 'request failed');
    return sendError(reply, status, message);
  };
}
