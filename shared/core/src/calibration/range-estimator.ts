import type { Range } from '../quantization/activation-quantizer.js';
import type { ValueSample } from './value-sample.js';

/** What the folded BatchNorm says a layer's output looks like: per-channel mean (β) and std (|γ|). */
export interface BnPrior {
  mean: Float32Array;
  std: Float32Array;
  /** The activation fused after the layer, which clips the BN's Gaussian. */
  activation: string;
}

export interface EstimatorContext {
  bits: number;
  /** Present for outputs of layers a BatchNorm was folded into. */
  prior?: BnPrior;
  /** The percentile estimator's p (run option calibPercentile; its default when absent). */
  percentile?: number;
}

/**
 * Settles on a quantization range for one tensor from the values it took on the calibration
 * images (and, for BN-based ranges, the folded BatchNorm's statistics). Returns null when it
 * cannot decide for this tensor, so the caller falls back to min-max and says so.
 */
export type RangeEstimator = (sample: ValueSample, context: EstimatorContext) => Range | null;
