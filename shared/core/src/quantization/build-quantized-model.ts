import type * as tf from '@tensorflow/tfjs';
import type { ModelGraph } from '../model/graph.js';
import { type AccumulatorBits, type AccumulatorChoice, fitAccumulators } from './accumulator-fit.js';
import type { Range } from './activation-quantizer.js';
import {
  DEFAULT_MEAN_FIELD,
  type MeanFieldOptions,
  type MeanFieldProgress,
  type MeanFieldResult,
  trainMeanField,
} from './mean-field.js';
import type { QuantizationPlan } from './quantization-plan.js';
import { type LearnedWeights, type QuantizedModel, quantizeModel } from './quantize-model.js';

/** rtn: round-to-nearest PTQ; pmf: proximal mean-field; pgd: projected gradient descent (sparsemax). */
export type WeightQuantizer = 'rtn' | 'pmf' | 'pgd';
export const WEIGHT_QUANTIZERS: readonly WeightQuantizer[] = ['rtn', 'pmf', 'pgd'];

export interface WeightQuantizationOptions {
  quantizer: WeightQuantizer;
  steps: number;
  accumulatorBits: AccumulatorBits;
  seed: number;
  onProgress?: (p: MeanFieldProgress) => void;
}

/** The distillation's settings (minus seed and callback) and its figures, as the report states them. */
export type WeightTraining = Omit<MeanFieldOptions, 'seed' | 'onProgress'> &
  Omit<MeanFieldResult, 'weights' | 'biases'> & { images: number };

export interface BuiltQuantizedModel {
  model: QuantizedModel;
  accumulators: AccumulatorChoice[];
  /** The distillation's settings and figures (null for round-to-nearest). */
  training: WeightTraining | null;
}

/**
 * Round-to-nearest, or PMF/PGD distilled on the synthetic images, then the overflow-aware fit
 * of every layer to the accumulator: the quantized model the export and evaluation use.
 */
export async function buildQuantizedModel(
  folded: ModelGraph,
  plan: QuantizationPlan,
  ranges: Map<string, Range>,
  images: tf.Tensor4D | null,
  options: WeightQuantizationOptions,
): Promise<BuiltQuantizedModel> {
  const nearest = quantizeModel(folded, plan, ranges);
  let learned: LearnedWeights | undefined;
  let training: WeightTraining | null = null;
  if (options.quantizer !== 'rtn') {
    if (!images)
      throw new Error(`the ${options.quantizer} quantizer distils on the synthetic images; none were given`);
    const settings = {
      ...DEFAULT_MEAN_FIELD,
      steps: options.steps,
      projection: options.quantizer === 'pmf' ? ('softmax' as const) : ('sparsemax' as const),
      seed: options.seed,
    };
    const result = await trainMeanField(folded, nearest, images, {
      ...settings,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const { weights, biases, ...figures } = result;
    learned = { weights, biases };
    const { seed: _seed, ...stated } = settings;
    training = { ...stated, ...figures, images: images.shape[0] };
  }
  // The fit reads only integer weights and activation grids; the grids do not depend on the weights.
  const fit = fitAccumulators(
    folded,
    learned ? { ...nearest, weights: new Map(learned.weights) } : nearest,
    options.accumulatorBits,
  );
  const model = quantizeModel(folded, plan, ranges, {
    weights: fit.weights,
    biases: learned?.biases ?? new Map(),
  });
  return { model, accumulators: fit.choices, training };
}
