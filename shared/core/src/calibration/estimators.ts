import { type RangeEstimatorName, RUN_OPTIONS } from '@dfq/contract';
import { affineParams, type Range } from '../quantization/activation-quantizer.js';
import { roundHalfEven } from '../util/round.js';
import { binCenter, histogram } from './histogram.js';
import type { RangeEstimator } from './range-estimator.js';

/** The smallest range holding every value seen. */
export const minMax: RangeEstimator = (sample) => ({ min: sample.min, max: sample.max });

/** Clips the rarest tails: the (100 - p)th and pth percentiles of the values. */
export function percentile(p = 99.99): RangeEstimator {
  return (sample) => {
    const sorted = Float32Array.from(sample.values()).sort();
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] as number;
    return { min: at(1 - p / 100), max: at(p / 100) };
  };
}

/** Expected squared quantization error of a histogram's values under `range`, rounding and clipping included. */
function histogramMse(values: ReturnType<typeof histogram>, range: Range, bits: number): number {
  const p = affineParams(range, bits);
  const levels = 2 ** bits - 1;
  let error = 0;
  values.counts.forEach((n, i) => {
    if (n === 0) return;
    const v = binCenter(values, i);
    const q = Math.max(0, Math.min(levels, roundHalfEven(v / p.scale) + p.zeroPoint));
    const d = v - (q - p.zeroPoint) * p.scale;
    error += n * d * d;
  });
  return error;
}

/** The clipping of the min-max range (both ends shrunk by one factor) with the least quantization MSE. */
export const mseOptimal: RangeEstimator = (sample, { bits }) => {
  const h = histogram(sample.values(), sample.min, sample.max);
  let best: Range = { min: sample.min, max: sample.max };
  let bestError = Number.POSITIVE_INFINITY;
  for (let step = 100; step >= 5; step--) {
    const f = step / 100;
    const candidate = { min: sample.min * f, max: sample.max * f };
    const error = histogramMse(h, candidate, bits);
    if (error < bestError) {
      bestError = error;
      best = candidate;
    }
  }
  return best;
};

/**
 * Entropy calibration (as in TensorRT): the threshold whose quantized histogram diverges least
 * (KL) from the clipped reference. Works on |x|; signed tensors get a symmetric range.
 */
export const klDivergence: RangeEstimator = (sample, { bits }) => {
  const values = sample.values();
  const bound = Math.max(Math.abs(sample.min), Math.abs(sample.max));
  if (bound === 0) return { min: 0, max: 0 };
  const bins = 2048;
  const signed = sample.min < 0;
  // After a ReLU most values are exactly 0, which every range represents exactly; left in, that
  // spike would dominate the divergence and pull the threshold far too low.
  const magnitudes = signed ? Float32Array.from(values, Math.abs) : values.filter((v) => v > 0);
  const abs = histogram(magnitudes, 0, bound, bins).counts;
  const levels = signed ? 2 ** (bits - 1) : 2 ** bits;
  let bestBins = bins;
  let bestKl = Number.POSITIVE_INFINITY;
  for (let i = Math.max(levels, 128); i <= bins; i += 16) {
    const reference = Array.from(abs.subarray(0, i));
    let outliers = 0;
    for (let j = i; j < bins; j++) outliers += abs[j] as number;
    reference[i - 1] = (reference[i - 1] as number) + outliers;
    // Merge the i reference bins into `levels` groups, then spread each group evenly over its non-empty bins.
    const expanded = new Array<number>(i).fill(0);
    for (let g = 0; g < levels; g++) {
      const start = Math.floor((g * i) / levels);
      const end = Math.floor(((g + 1) * i) / levels);
      let total = 0;
      let nonEmpty = 0;
      for (let j = start; j < end; j++) {
        total += abs[j] as number;
        if ((abs[j] as number) > 0) nonEmpty++;
      }
      for (let j = start; j < end; j++) if ((abs[j] as number) > 0) expanded[j] = total / nonEmpty;
    }
    const pSum = reference.reduce((a, b) => a + b, 0);
    const qSum = expanded.reduce((a, b) => a + b, 0);
    let kl = 0;
    for (let j = 0; j < i; j++) {
      const p = (reference[j] as number) / pSum;
      if (p === 0) continue;
      const q = (expanded[j] as number) / qSum;
      kl += q > 0 ? p * Math.log(p / q) : p * 20; // an unmatched mass costs a large, finite penalty
    }
    if (kl < bestKl) {
      bestKl = kl;
      bestBins = i;
    }
  }
  const threshold = (bestBins / bins) * bound;
  return signed
    ? { min: Math.max(sample.min, -threshold), max: Math.min(sample.max, threshold) }
    : { min: 0, max: threshold };
};

/**
 * Data-free ranges from the folded BatchNorm (Nagel et al.): each channel's pre-activation is
 * roughly N(β, γ²), so [min(β - nγ), max(β + nγ)] covers it; a fused ReLU clips the low end.
 * Needs no images; tensors without a BatchNorm prior return null.
 */
export function bnBased(n = 6): RangeEstimator {
  return (_sample, { prior }) => {
    if (!prior) return null;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    prior.mean.forEach((m, c) => {
      const s = prior.std[c] as number;
      min = Math.min(min, m - n * s);
      max = Math.max(max, m + n * s);
    });
    if (prior.activation === 'relu' || prior.activation === 'relu6') min = Math.max(0, min);
    if (prior.activation === 'relu6') max = Math.min(6, max);
    return { min, max };
  };
}

/** The implementation of every estimator the contract's RANGE_ESTIMATOR_METHODS registers. */
export const RANGE_ESTIMATORS: Record<RangeEstimatorName, RangeEstimator> = {
  minmax: minMax,
  percentile: (sample, context) =>
    percentile(context.percentile ?? RUN_OPTIONS.calibPercentile.default)(sample, context),
  mse: mseOptimal,
  kl: klDivergence,
  bn: bnBased(6),
};
