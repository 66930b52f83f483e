import { stat } from 'node:fs/promises';
import type { ApiContext } from '../context.js';
import { notFound } from '../http-error.js';
import { modelKey } from '../keys.js';

/** The store key of a tenant's model.json; 404 if the tenant has no such model. */
export async function findModel(ctx: ApiContext, tenant: string, modelId: string): Promise<string> {
  const key = modelKey(tenant, modelId);
  const found = await stat(ctx.store.path(key)).catch(() => null);
  if (!found?.isFile()) throw notFound(`model ${modelId} not found`);
  return key;
}
