import * as tf from '@tensorflow/tfjs';
import type { InputNormalization, ModelGraph } from '../model/graph.js';
import { GraphRunner, type GraphRunOptions } from '../model/graph-runner.js';
import type { LabelledImages } from './fashion-mnist.js';
import { normalizedBatch } from './normalize.js';

export interface Accuracy {
  samples: number;
  correct: number;
  accuracy: number;
  /** argmax prediction for every sample, for agreement checks between models. */
  predictions: Int32Array;
}

export interface EvaluateOptions {
  batchSize?: number;
  limit?: number;
  onBatch?: (done: number, total: number) => void;
}

/**
 * Top-1 accuracy of `predict` on a labelled set, in fixed-size batches so memory stays flat
 * however large the set is.
 */

export async function evaluateTop1(
  predict: (x: tf.Tensor4D) => tf.Tensor,
  set: LabelledImages,
  norm: InputNormalization,
  options: EvaluateOptions = {},
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

/**
 * Top-1 of a model graph on a labelled set; `transform` rewrites each node's output (e.g. activation
 * fake quantization). The graph's runner is released afterwards.
 */
export async function evaluateGraphTop1(
  graph: ModelGraph,
  set: LabelledImages,
  norm: InputNormalization,
  options: EvaluateOptions = {},
  transform?: GraphRunOptions['transform'],
): Promise<Accuracy> {
  const runner = new GraphRunner(graph);
  try {
    return await evaluateTop1((x) => runner.predict(x, transform), set, norm, options);
  } finally {
    runner.dispose();
  }
}
