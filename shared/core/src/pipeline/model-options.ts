import type { LoadModelOptions } from '../model/load-model.js';
import type { RunConfig } from './run-config.js';

/** How every stage loads the model for a run: the same normalization, the same BN requirement. */
export function modelOptions(config: RunConfig): LoadModelOptions {
  return {
    ...(config.inputMean ? { inputMean: config.inputMean } : {}),
    ...(config.inputStd ? { inputStd: config.inputStd } : {}),
    requireBatchNorm: config.synth === 'direct' || config.synth === 'zeroq' || config.synth === 'generative',
  };
}
