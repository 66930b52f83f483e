import type * as tf from '@tensorflow/tfjs';
import type { InputNormalization } from '../model/graph.js';
import { type Accuracy, evaluateTop1 } from './evaluate.js';
import type { LabelledImages } from './fashion-mnist.js';

/**
 * Top-1 of a stock tf.LayersModel (e.g. the uint8-manifest model as TF.js dequantizes it at load)
 * on a labelled set, fed exactly as dfq's own models are, so its accuracy compares with theirs.
 */
export function evaluateStockModel(
  model: tf.LayersModel,
  set: LabelledImages,
  norm: InputNormalization,
  options: Parameters<typeof evaluateTop1>[3] = {},
): Promise<Accuracy> {
  return evaluateTop1(
    (x) => {
      const y = model.predict(x);
      if (Array.isArray(y)) throw new Error(`model ${model.name} has ${y.length} outputs; top-1 needs one`);
      return y;
    },
    set,
    norm,
    options,
  );
}
