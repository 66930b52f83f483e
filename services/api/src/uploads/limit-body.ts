import type { FastifyRequest } from 'fastify';
import { tooLarge } from '../http-error.js';
import { uploadLimitMessage } from './byte-budget.js';

/** Refuses a body whose declared length is over the limit before reading any of it. */
export function limitBody(limit: number) {
  return async (request: FastifyRequest): Promise<void> => {
    const length = Number(request.headers['content-length']);
    if (Number.isFinite(length) && length > limit) throw tooLarge(uploadLimitMessage(limit));
  };
}
