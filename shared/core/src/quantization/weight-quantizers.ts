import type { WeightQuantizerName } from '@dfq/contract';
import type * as tf from '@tensorflow/tfjs';
import type { ModelGraph } from '../model/graph.js';
import {
  DEFAULT_MEAN_FIELD,
  type MeanFieldOptions,
  type MeanFieldResult,
  trainMeanField,
} from './mean-field.js';
import type { LearnedWeights, QuantizedModel } from './quantize-model.js';
import type { SimplexProjection } from './simplex-projection.js';

export interface WeightTrainingOptions {
  steps: number;
  seed: number;
  onProgress?: MeanFieldOptions['onProgress'];
}

/** The distillation's settings (minus seed and callback) and its figures, as the report states them. */
export type WeightTraining = Omit<MeanFieldOptions, 'seed' | 'onProgress'> &
  Omit<MeanFieldResult, 'weights' | 'biases'> & { images: number };

/** Learns a model's integer weights from their round-to-nearest start on the synthetic images. */
export type WeightTrainer = (
  folded: ModelGraph,
  nearest: QuantizedModel,
  images: tf.Tensor4D,
  options: WeightTrainingOptions,
) => Promise<{ learned: LearnedWeights; training: WeightTraining }>;

function meanField(projection: SimplexProjection): WeightTrainer {
  return async (folded, nearest, images, options) => {
    const settings = { ...DEFAULT_MEAN_FIELD, steps: options.steps, projection };
    const { weights, biases, ...figures } = await trainMeanField(folded, nearest, images, {
      ...settings,
      seed: options.seed,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return {
      learned: { weights, biases },
      training: { ...settings, ...figures, images: images.shape[0] },
    };
  };
}

/**
 * The implementation of every weight quantizer the contract's WEIGHT_QUANTIZER_METHODS registers:
 * how it trains the weights, or null for one that only rounds to nearest.
 */
export const WEIGHT_QUANTIZERS: Record<WeightQuantizerName, WeightTrainer | null> = {
  rtn: null,
  pmf: meanField('softmax'),
  pgd: meanField('sparsemax'),
};
