import { dirname, sep } from 'node:path';
import {
  RunOptionError,
  type RunOptions,
  RunTooLargeError,
  resolveRunConfig,
  serviceOptionName,
  toRunConfig,
} from '@dfq/contract';
import { loadModel, ModelLoadError, planRun, runCostTmac } from '@dfq/core';
import type { ApiContext } from '../context.js';
import { HttpError } from '../http-error.js';

/** Checks a model (or a run of it) before anything is kept or queued; says what it found. */
export type ModelCheck<T = void> = (modelJson: string) => Promise<T>;

/** File paths made relative to the model's folder: clients need the file name, not the server's layout. */
function relative(message: string, modelJson: string): string {
  const folder = dirname(modelJson);
  return message.split(`${folder}${sep}`).join('').split(folder).join('.');
}

/**
 * The client's error for what the workers would refuse: a model that cannot be used or options
 * that do not fit it (422), a run larger than a worker's limits (413), each with the message the
 * worker would give, options named as the request names them.
 */
function refusal(err: unknown, modelJson: string): unknown {
  if (err instanceof RunOptionError)
    return new HttpError(
      err instanceof RunTooLargeError ? 413 : 422,
      relative(err.phrase(serviceOptionName), modelJson),
    );
  if (err instanceof ModelLoadError) return new HttpError(422, relative(err.message, modelJson));
  return err;
}

/** An upload with no run yet: the model must load (BatchNorm not required: a run may not need it). */
export const checkModel: ModelCheck = async (modelJson) => {
  try {
    await loadModel(modelJson, { requireBatchNorm: false });
  } catch (err) {
    throw refusal(err, modelJson);
  }
};

/**
 * Admission control for a run: everything the synthesize stage checks before its first tensor
 * (the model loads as the run needs it, the options fit it, its memory fits what a shared worker
 * gives one run), done at the door so a run the workers would refuse is never queued. Gives the
 * run's estimated work for the tenant's daily budget.
 */
export function admitRun(ctx: ApiContext, options: RunOptions): ModelCheck<{ tmac: number }> {
  return async (modelJson) => {
    try {
      const config = resolveRunConfig(
        toRunConfig(options, { modelPath: modelJson, outDir: '', evalDir: ctx.config.evalDir }),
      );
      return { tmac: runCostTmac(await planRun(config, ctx.config.workerMemoryMiB), config) };
    } catch (err) {
      throw refusal(err, modelJson);
    }
  };
}
