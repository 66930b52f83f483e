import { dirname, sep } from 'node:path';
import { type RunOptions, toRunConfig } from '@dfq/contract';
import { type LoadModelOptions, loadModel, ModelLoadError, modelOptions } from '@dfq/core';
import { HttpError } from '../http-error.js';

/** How a run's workers will load the model (same BN requirement and normalization), for checking it up front. */
export function loadOptionsFor(options: RunOptions | null): LoadModelOptions {
  if (options === null) return { requireBatchNorm: false };
  return modelOptions(toRunConfig(options, { modelPath: '', outDir: '', evalDir: null }));
}

/**
 * Loads a model as the workers will. A ModelLoadError becomes a 422 with its message, file paths
 * made relative to the model's folder: clients need the file name, not the server's layout.
 */
export async function checkModel(modelJson: string, options: LoadModelOptions): Promise<void> {
  try {
    await loadModel(modelJson, options);
  } catch (err) {
    if (!(err instanceof ModelLoadError)) throw err;
    const folder = dirname(modelJson);
    throw new HttpError(422, err.message.split(`${folder}${sep}`).join('').split(folder).join('.'));
  }
}
