import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { checkModelQuota } from '../quotas.js';
import { checkWeightPaths, modelRoot } from '../uploads/model-root.js';
import { receiveParts } from '../uploads/receive-parts.js';
import { Staging } from '../uploads/staging.js';
import type { ModelCheck } from './check-model.js';
import { commitModel, type StoredModel } from './commit-model.js';

export interface UploadSettings<T> {
  /** Text fields the form may carry besides the files. */
  fields: string[];
  /** Reads the fields once every part is in, before the model is checked; says how to check it. */
  prepare: (fields: Record<string, string>) => ModelCheck<T>;
}

/** Receives a multipart model upload, checks it as the workers will load it, and stores it for the tenant. */
export async function uploadModel<T>(
  ctx: ApiContext,
  request: FastifyRequest,
  settings: UploadSettings<T>,
): Promise<StoredModel & { checked: T }> {
  if (!request.isMultipart()) {
    throw new HttpError(
      415,
      'upload the model as multipart/form-data: model.json and its weight shards as file parts, or one .tar, .tar.gz, .tgz or .zip archive',
    );
  }
  const staging = await Staging.create(ctx.store.root);
  try {
    const fields = await receiveParts(request, staging, ctx.config.maxUploadBytes, settings.fields);
    const check = settings.prepare(fields);
    const root = modelRoot(staging.filesDir, staging.names);
    await checkWeightPaths(root);
    const checked = await check(join(root, 'model.json'));
    await checkModelQuota(ctx, request.tenant, root);
    return { ...(await commitModel(ctx.store, root, request.tenant)), checked };
  } finally {
    await staging.remove();
  }
}
