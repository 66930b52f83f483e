import * as tf from '@tensorflow/tfjs';
import type { InputNormalization } from '../model/graph.js';
import type { LabelledImages } from './fashion-mnist.js';
import { normalizedBatch } from './normalize.js';

export interface Accuracy {
  samples: number;
  correct: number;
  accuracy: number;
  /** argmax prediction for every sample, for agreement checks between models. */
  predictions: Int32Array;
}

/**
 * Top-1 accuracy of `predict` on a labelled set, in fixed-size batches so memory stays flat
 * however large the set is.
 */
export async function evaluateTop1(
  predict: (x: tf.Tensor4D) => tf.Tensor,
  set: LabelledImages,
  norm: InputNormalization,
  options: { batchSize?: number; limit?: number; onBatch?: (done: number, total: number) => void } = {},
): Promise<Accuracy> {
  const total = Math.min(options.limit ?? set.count, set.count);
  const batchSize = options.batchSize ?? 250;
  const predictions = new Int32Array(total);
  let correct = 0;
  for (let start = 0; start < total; start += batchSize) {
    const end = Math.min(total, start + batchSize);
    const argmax = tf.tidy(() => predict(normalizedBatch(set, start, end, norm)).argMax(-1));
    const values = (await argmax.data()) as Int32Array;
    argmax.dispose();
    predictions.set(values, start);
    for (let i = 0; i < values.length; i++) if (values[i] === set.labels[start + i]) correct++;
    options.onBatch?.(end, total);
  }
  return { samples: total, correct, accuracy: total === 0 ? 0 : correct / total, predictions };
}
