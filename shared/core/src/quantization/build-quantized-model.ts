import type { WeightQuantizerName } from '@dfq/contract';
import type * as tf from '@tensorflow/tfjs';
import type { ModelGraph } from '../model/graph.js';
import { type AccumulatorBits, type AccumulatorChoice, fitAccumulators } from './accumulator-fit.js';
import type { Range } from './activation-quantizer.js';
import type { QuantizationPlan } from './quantization-plan.js';
import { type LearnedWeights, type QuantizedModel, quantizeModel } from './quantize-model.js';
import { WEIGHT_QUANTIZERS, type WeightTraining, type WeightTrainingOptions } from './weight-quantizers.js';

export type { WeightTraining } from './weight-quantizers.js';

export interface WeightQuantizationOptions extends WeightTrainingOptions {
  quantizer: WeightQuantizerName;
  accumulatorBits: AccumulatorBits;
}

export interface BuiltQuantizedModel {
  model: QuantizedModel;
  accumulators: AccumulatorChoice[];
  /** The distillation's settings and figures (null for a quantizer that only rounds). */
  training: WeightTraining | null;
}

/**
 * Round-to-nearest, then the chosen quantizer's training on the synthetic images (if it trains),
 * then the overflow-aware fit of every layer to the accumulator: the quantized model the export
 * and evaluation use.
 */
export async function buildQuantizedModel(
  folded: ModelGraph,
  plan: QuantizationPlan,
  ranges: Map<string, Range>,
  images: tf.Tensor4D | null,
  options: WeightQuantizationOptions,
): Promise<BuiltQuantizedModel> {
  const nearest = quantizeModel(folded, plan, ranges);
  const train = WEIGHT_QUANTIZERS[options.quantizer];
  let learned: LearnedWeights | undefined;
  let training: WeightTraining | null = null;
  if (train) {
    if (!images)
      throw new Error(`the ${options.quantizer} quantizer distils on the synthetic images; none were given`);
    ({ learned, training } = await train(folded, nearest, images, options));
  }
  // The fit reads the final grids: learned ones where the quantizer learned them.
  const start = learned?.activations?.size ? quantizeModel(folded, plan, ranges, learned) : nearest;
  const fit = fitAccumulators(
    folded,
    learned ? { ...start, weights: new Map(learned.weights) } : start,
    options.accumulatorBits,
  );
  const model = quantizeModel(folded, plan, ranges, {
    weights: fit.weights,
    biases: learned?.biases ?? new Map(),
    ...(learned?.activations ? { activations: learned.activations } : {}),
  });
  return { model, accumulators: fit.choices, training };
}
