// The per-tenant limits (TenantLimits, @dfq/queue) the API enforces itself: stored models and their
// bytes, and schedules. Runs are limited where they are created (createRun), for API and schedules alike.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TENANT_LIMIT_ENV, TenantLimitError } from '@dfq/queue';
import type { ApiContext } from './context.js';

/** Bytes of every file below a folder (0 when it does not exist). */
async function folderBytes(folder: string): Promise<number> {
  const names = await readdir(folder, { recursive: true }).catch(() => [] as string[]);
  let bytes = 0;
  for (const name of names) {
    const info = await stat(join(folder, name)).catch(() => null);
    if (info?.isFile()) bytes += info.size;
  }
  return bytes;
}

/** Refuses a new model (staged in `folder`) that would take the tenant past its model count or bytes. */
export async function checkModelQuota(ctx: ApiContext, tenant: string, folder: string): Promise<void> {
  const { models, modelBytes } = ctx.config.limits;
  const root = ctx.store.path(`${tenant}/models`);
  const stored = await readdir(root).catch(() => [] as string[]);
  if (stored.length >= models)
    throw new TenantLimitError(
      `tenant ${tenant} stores ${stored.length} models, its limit (${TENANT_LIMIT_ENV.models.name}=${models}); delete one (DELETE /v1/models/{modelId}) first`,
    );
  const used = await folderBytes(root);
  const adding = await folderBytes(folder);
  if (used + adding > modelBytes)
    throw new TenantLimitError(
      `this model's ${adding} bytes would take tenant ${tenant}'s stored models to ${used + adding} bytes, above its ${modelBytes} (${TENANT_LIMIT_ENV.modelBytes.name}); delete a model first`,
    );
}

/** Refuses a new schedule id past the tenant's schedule limit (replacing one of its own is fine). */
export async function checkScheduleQuota(ctx: ApiContext, tenant: string, scheduleId: string): Promise<void> {
  const existing = await ctx.schedules.list(tenant);
  const limit = ctx.config.limits.schedules;
  if (!existing.some((s) => s.scheduleId === scheduleId) && existing.length >= limit)
    throw new TenantLimitError(
      `tenant ${tenant} has ${existing.length} schedules, its limit (${TENANT_LIMIT_ENV.schedules.name}=${limit}); delete one first`,
    );
}
