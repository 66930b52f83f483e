import {
  checkRunSettings,
  type RunConfig,
  SYNTHESIS_METHODS,
  synthesisMethodFor,
  WEIGHT_QUANTIZER_METHODS,
} from '@dfq/contract';
import { requireWeightGradients } from '../backend/weight-gradients.js';

/**
 * Everything a run's options need of the options themselves and of the backend in force,
 * checked before the first stage works: a quantizer that trains weights on a backend without
 * weight gradients fails here, not after synthesis and calibration.
 */
export function checkRun(config: RunConfig): void {
  checkRunSettings(config);
  const synthesis = synthesisMethodFor(config);
  requireWeightGradients([
    ...(SYNTHESIS_METHODS[synthesis].needsWeightGradients
      ? [{ option: 'synth' as const, value: synthesis, instead: 'direct' }]
      : []),
    ...(WEIGHT_QUANTIZER_METHODS[config.quantizer].needsWeightGradients
      ? [{ option: 'quantizer' as const, value: config.quantizer, instead: 'rtn' }]
      : []),
  ]);
}
