import * as tf from '@tensorflow/tfjs';
import type { GraphRunner } from '../model/graph-runner.js';
import type { Range } from '../quantization/activation-quantizer.js';
import { minMaxEstimator } from './minmax-estimator.js';
import type { RangeEstimatorFactory } from './range-estimator.js';

export const CALIBRATION_METHODS: Record<string, RangeEstimatorFactory> = {
  minmax: () => minMaxEstimator(),
};

export interface CalibrationProfile {
  method: string;
  images: number;
  /** Node name -> range of its output over the calibration images. */
  ranges: Record<string, Range>;
}

/**
 * Runs the float (BN-folded) model over calibration images and estimates the range of every
 * tensor in `tensors`. Batches keep memory flat for large image sets.
 */
export function calibrate(
  runner: GraphRunner,
  images: tf.Tensor4D,
  tensors: Iterable<string>,
  bitsOf: (name: string) => number,
  options: { method?: string; batchSize?: number } = {},
): CalibrationProfile {
  const method = options.method ?? 'minmax';
  const factory = CALIBRATION_METHODS[method];
  if (!factory)
    throw new Error(
      `unknown calibration method ${method}; choose one of ${Object.keys(CALIBRATION_METHODS).join(', ')}`,
    );
  const names = [...tensors];
  const estimators = new Map(names.map((n) => [n, factory(bitsOf(n))]));
  const taps = new Set(names);
  const count = images.shape[0];
  const batchSize = options.batchSize ?? 128;
  for (let start = 0; start < count; start += batchSize) {
    tf.tidy(() => {
      const batch = images.slice([start, 0, 0, 0], [Math.min(batchSize, count - start), -1, -1, -1]);
      const { taps: outputs } = runner.run(batch, { taps });
      for (const [name, estimator] of estimators) {
        const t = outputs.get(name);
        if (!t) throw new Error(`calibration tap ${name} produced no tensor`);
        estimator.observe(t);
      }
    });
  }
  const ranges: Record<string, Range> = {};
  for (const [name, estimator] of estimators) ranges[name] = estimator.range();
  return { method, images: count, ranges };
}
