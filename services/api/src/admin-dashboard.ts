import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { adminAuth } from './auth.js';
import type { ApiContext } from './context.js';

export const DASHBOARD_PATH = '/admin/queues';

/** Bull Board over the three stage queues and the schedule queue, behind the admin token; absent without one. */
export async function registerDashboard(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const token = ctx.config.adminToken;
  if (token === null) return;
  const board = new FastifyAdapter();
  const queues = [...Object.values(ctx.runs.queues), ctx.schedules.queue];
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
  board.setBasePath(DASHBOARD_PATH);
  await app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(token));
    await admin.register(board.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
