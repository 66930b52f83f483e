import { type RunConfig, SYNTHESIS_METHODS, synthesisMethodFor } from '@dfq/contract';
import type { LoadModelOptions } from '../model/load-model.js';

/** How every stage loads the model for a run: the same normalization, the same BN requirement. */
export function modelOptions(
  config: Pick<RunConfig, 'inputMean' | 'inputStd' | 'synth' | 'quantizer'>,
): LoadModelOptions {
  return {
    ...(config.inputMean ? { inputMean: config.inputMean } : {}),
    ...(config.inputStd ? { inputStd: config.inputStd } : {}),
    requireBatchNorm: SYNTHESIS_METHODS[synthesisMethodFor(config)].needsBatchNorm,
  };
}
