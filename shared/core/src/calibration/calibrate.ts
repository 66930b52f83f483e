import { RANGE_ESTIMATOR_METHODS, type RangeEstimatorName } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import type { GraphRunner } from '../model/graph-runner.js';
import {
  affineParams,
  dequantizeValue,
  quantizeValue,
  type Range,
} from '../quantization/activation-quantizer.js';
import { RANGE_ESTIMATORS } from './estimators.js';
import { histogram } from './histogram.js';
import type { EstimatorContext } from './range-estimator.js';
import { ValueSample } from './value-sample.js';

export const CALIBRATION_METHODS = Object.keys(RANGE_ESTIMATOR_METHODS) as RangeEstimatorName[];

export interface TensorCalibration {
  range: Range;
  /** The estimator that produced the range ('minmax' where the chosen one had nothing to say). */
  method: string;
  /** Mean squared quantization error on the calibration values, and the signal-to-noise ratio it leaves. */
  mse: number;
  sqnrDb: number;
  /** The calibration values' distribution, coarse enough for a picture (the card's histograms). */
  histogram: { low: number; high: number; counts: number[] };
}

/** Bins of the histogram kept with each tensor's calibration. */
const PICTURE_BINS = 64;

export interface CalibrationProfile {
  method: string;
  images: number;
  /** Node name -> range of its output activation. */
  ranges: Record<string, Range>;
  tensors: Record<string, TensorCalibration>;
}

function quantizationError(
  values: Float32Array,
  range: Range,
  bits: number,
): { mse: number; sqnrDb: number } {
  const p = affineParams(range, bits);
  let error = 0;
  let signal = 0;
  for (const v of values) {
    const d = v - dequantizeValue(quantizeValue(v, p), p);
    error += d * d;
    signal += v * v;
  }
  const mse = values.length ? error / values.length : 0;
  return { mse, sqnrDb: error > 0 ? 10 * Math.log10(signal / error) : Number.POSITIVE_INFINITY };
}

/**
 * Runs the float (BN-folded) model over the calibration images, samples every tensor in
 * `tensors`, and lets the chosen estimator set each range; reports each range's quantization
 * error on those same values. Batches keep memory flat for large image sets.
 */
export function calibrate(
  runner: GraphRunner,
  images: tf.Tensor4D,
  tensors: Iterable<string>,
  contextOf: (name: string) => EstimatorContext,
  options: { method?: string; batchSize?: number } = {},
): CalibrationProfile {
  const method = options.method ?? 'minmax';
  const estimate = RANGE_ESTIMATORS[method as RangeEstimatorName];
  if (!estimate)
    throw new Error(`unknown calibration method ${method}; choose one of ${CALIBRATION_METHODS.join(', ')}`);
  const names = [...tensors];
  const samples = new Map(names.map((n) => [n, new ValueSample()]));
  const taps = new Set(names);
  const count = images.shape[0];
  const batchSize = options.batchSize ?? 128;
  for (let start = 0; start < count; start += batchSize) {
    tf.tidy(() => {
      const batch = images.slice([start, 0, 0, 0], [Math.min(batchSize, count - start), -1, -1, -1]);
      const { taps: outputs } = runner.run(batch, { taps });
      for (const [name, sample] of samples) {
        const t = outputs.get(name);
        if (!t) throw new Error(`calibration tap ${name} produced no tensor`);
        sample.observe(t);
      }
    });
  }
  const ranges: Record<string, Range> = {};
  const report: Record<string, TensorCalibration> = {};
  for (const [name, sample] of samples) {
    const context = contextOf(name);
    const chosen = estimate(sample, context);
    const range = chosen ?? RANGE_ESTIMATORS.minmax(sample, context) ?? { min: sample.min, max: sample.max };
    ranges[name] = range;
    report[name] = {
      range,
      method: chosen ? method : 'minmax',
      ...quantizationError(sample.values(), range, context.bits),
      histogram: (({ low, high, counts }) => ({ low, high, counts: Array.from(counts) }))(
        histogram(sample.values(), sample.min, sample.max, PICTURE_BINS),
      ),
    };
  }
  return { method, images: count, ranges, tensors: report };
}
