import type { RunRecord } from '@dfq/queue';
import type { ApiContext } from '../context.js';
import { notFound } from '../http-error.js';

/** The tenant's run, or 404: another tenant's run answers exactly like a missing one. */
export async function findRun(ctx: ApiContext, tenant: string, runId: string): Promise<RunRecord> {
  const record = await ctx.registry.get(tenant, runId);
  if (!record) throw notFound(`run ${runId} not found`);
  return record;
}
