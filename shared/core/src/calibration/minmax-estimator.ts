import * as tf from '@tensorflow/tfjs';
import type { RangeEstimator } from './range-estimator.js';

/** The smallest range holding every value seen. */
export function minMaxEstimator(): RangeEstimator {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  return {
    observe(batch) {
      const [lo, hi] = tf.tidy(() => tf.stack([batch.min(), batch.max()]).dataSync());
      min = Math.min(min, lo as number);
      max = Math.max(max, hi as number);
    },
    range() {
      if (min > max) throw new Error('min-max estimator saw no data');
      return { min, max };
    },
  };
}
