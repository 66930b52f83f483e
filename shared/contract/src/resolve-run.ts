import type { LayerBits } from './option-kinds.js';
import { type RangeEstimatorName, rangeEstimatorFor } from './range-estimator-methods.js';
import type { RunConfig } from './run-options.js';
import { type SynthesisMethod, synthesisMethodFor } from './synthesis-methods.js';

/** Bits of weights and activations, with the first and last layers' exception. */
export interface BitPolicy {
  weightBits: number;
  activationBits: number;
  /** Bits of the first and last weighted layers' weights and inputs (null: same as the rest). */
  firstLastBits: number | null;
  /**
   * Bits of tensors read only by residual adds (null: the activation bits). Published block
   * reconstruction (BRECQ, QDrop, Genie) leaves them in float; dfq's integer export needs a grid.
   */
  residualBits: number | null;
}

/** Per-layer exceptions to the bit policy, by layer name in the BN-folded model (as the report names them). */
export interface LayerOverrides {
  keepFloat: readonly string[];
  bits: Readonly<Record<string, LayerBits>>;
}

/** A run's choices that follow from its options, settled once before the first stage. */
export interface ResolvedChoices {
  /** The range estimator in force (`auto` resolved by activation bits). */
  rangeEstimator: RangeEstimatorName;
  /** The synthesis method in force (`auto` resolved by the weight quantizer). */
  synthesis: SynthesisMethod;
  bits: BitPolicy;
  layers: LayerOverrides;
}

export type ResolvedRunConfig = RunConfig & { resolved: ResolvedChoices };

export function resolveRunConfig(config: RunConfig): ResolvedRunConfig {
  return {
    ...config,
    resolved: {
      rangeEstimator: rangeEstimatorFor(config.calibration, config.activationBits),
      synthesis: synthesisMethodFor(config),
      bits: {
        weightBits: config.weightBits,
        activationBits: config.activationBits,
        firstLastBits: config.firstLastBits,
        residualBits: config.residualBits,
      },
      layers: { keepFloat: config.keepFloat, bits: config.layerBits },
    },
  };
}
