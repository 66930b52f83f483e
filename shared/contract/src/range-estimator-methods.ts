/** What a range estimator needs. */
export interface RangeEstimatorInfo {
  summary: string;
  /** Sets ranges from the folded BatchNorms alone (tensors without one fall back to min-max). */
  needsBatchNorm: boolean;
}

/** Every activation range estimator, registered once: CLI choices, the API enum and the card derive from it. */
export const RANGE_ESTIMATOR_METHODS = {
  minmax: { summary: 'the smallest range holding every value seen', needsBatchNorm: false },
  percentile: { summary: 'clips the rarest tails at a percentile of the values', needsBatchNorm: false },
  mse: { summary: 'the clipping with the least quantization MSE', needsBatchNorm: false },
  kl: { summary: 'entropy calibration, as in TensorRT', needsBatchNorm: false },
  bn: { summary: "from the folded BatchNorm's beta +- 6|gamma|, no images needed", needsBatchNorm: true },
} as const satisfies Record<string, RangeEstimatorInfo>;

export type RangeEstimatorName = keyof typeof RANGE_ESTIMATOR_METHODS;

/** `--calib auto`, the default: resolved per run by rangeEstimatorFor. */
export const AUTO_CALIBRATION = 'auto';
export type CalibrationChoice = typeof AUTO_CALIBRATION | RangeEstimatorName;

/**
 * The range estimator a run uses. `auto` takes MSE-optimal ranges below 8 activation bits, where
 * min-max ranges stretched by a few outliers cost most (direct images at W4A4 on the example
 * model: min-max 87.27%, mse 90.78%, docs/benchmarks.md Step 4), and min-max at 8 bits and above.
 */
export function rangeEstimatorFor(choice: CalibrationChoice, activationBits: number): RangeEstimatorName {
  if (choice !== AUTO_CALIBRATION) return choice;
  return activationBits < 8 ? 'mse' : 'minmax';
}
