import type { SynthesisMethod } from '@dfq/contract';
import type * as tf from '@tensorflow/tfjs';

export interface SynthesisResult {
  method: SynthesisMethod;
  /** Normalized NHWC images (what the model takes as input); the caller disposes. */
  images: tf.Tensor4D;
  /** The class each image was made for (methods that target classes), else null. */
  labels?: number[] | null;
  iterations: number;
  /** BN-statistics loss of the first and last iteration, averaged over batches (null: not optimized). */
  lossInitial: number | null;
  lossFinal: number | null;
}
