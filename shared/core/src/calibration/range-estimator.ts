import type * as tf from '@tensorflow/tfjs';
import type { Range } from '../quantization/activation-quantizer.js';

/** Watches a tensor's values batch by batch and settles on a quantization range. */
export interface RangeEstimator {
  observe(batch: tf.Tensor): void;
  range(): Range;
}

export type RangeEstimatorFactory = (bits: number) => RangeEstimator;
