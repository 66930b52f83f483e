import type { WeightQuantizerName } from '@dfq/contract';
import type * as tf from '@tensorflow/tfjs';
import type { ModelGraph } from '../model/graph.js';
import {
  type BlockFigures,
  DEFAULT_RECONSTRUCTION,
  ROUNDING_RELAXATIONS,
  reconstructBlocks,
} from './block-reconstruction.js';
import { DEFAULT_MEAN_FIELD, type MeanFieldOptions, trainMeanField } from './mean-field.js';
import type { LearnedWeights, QuantizedModel } from './quantize-model.js';
import type { SimplexProjection } from './simplex-projection.js';

export interface WeightTrainingOptions {
  /** Optimization steps (recon: per block). */
  steps: number;
  seed: number;
  onProgress?: MeanFieldOptions['onProgress'];
  /** Called as each block of a block-wise trainer is done, with its figures. */
  onBlock?: (figures: BlockFigures, index: number, count: number) => void;
  /** A trainer's settings other than its defaults (the bench's ablations). */
  overrides?: Record<string, number | boolean | string>;
}

/** What a trainer did, as the report and the card state it. */
export interface WeightTraining {
  /** How the choice of level is relaxed while training (softmax, sparsemax, rectified sigmoid). */
  projection: string;
  /** Optimizer steps in all. */
  steps: number;
  batchSize: number;
  images: number;
  learningRate: number;
  /** The relaxation's sharpness from first to last step (PMF's β; AdaRound's regularizer exponent). */
  betaStart: number;
  betaEnd: number;
  /** The objective, in words. */
  objective: string;
  /** The trainer's other settings as run. */
  settings: Record<string, number | boolean | string>;
  lossInitial: number;
  lossFinal: number;
  /** Share of weights whose final level differs from round-to-nearest's. */
  changedFromNearest: number;
  trainedLayers: string[];
  seconds: number;
  /** Block reconstruction's per-block figures (null for trainers without blocks). */
  blocks: BlockFigures[] | null;
}

/** Learns a model's integer weights (and, for some, activation steps) from round-to-nearest's start. */
export type WeightTrainer = (
  folded: ModelGraph,
  nearest: QuantizedModel,
  images: tf.Tensor4D,
  options: WeightTrainingOptions,
) => Promise<{ learned: LearnedWeights; training: WeightTraining }>;

function meanField(projection: SimplexProjection): WeightTrainer {
  return async (folded, nearest, images, options) => {
    const settings = { ...DEFAULT_MEAN_FIELD, ...options.overrides, steps: options.steps };
    const { steps, batchSize, learningRate, betaStart, betaEnd, temperature, featureWeight } = settings;
    const { learnActivationSteps } = settings;
    const { weights, biases, activations, ...figures } = await trainMeanField(folded, nearest, images, {
      projection,
      steps,
      batchSize,
      learningRate,
      betaStart,
      betaEnd,
      temperature,
      featureWeight,
      learnActivationSteps,
      seed: options.seed,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return {
      learned: { weights, biases, activations },
      training: {
        projection,
        steps,
        batchSize,
        images: images.shape[0],
        learningRate,
        betaStart,
        betaEnd,
        objective: `KL(teacher || student) on logits at T = ${temperature} + ${featureWeight} x relative MSE of every conv/dense output; ${learnActivationSteps ? 'activation steps learned (LSQ)' : 'calibrated activation steps'}; synthetic images only`,
        settings: { temperature, featureWeight, learnActivationSteps },
        ...figures,
        blocks: null,
      },
    };
  };
}

const reconstruction: WeightTrainer = async (folded, nearest, images, options) => {
  const settings = { ...DEFAULT_RECONSTRUCTION, ...options.overrides, iterations: options.steps };
  const { weights, biases, activations, blocks, ...figures } = await reconstructBlocks(
    folded,
    nearest,
    images,
    {
      ...settings,
      seed: options.seed,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onBlock ? { onBlock: options.onBlock } : {}),
    },
  );
  const { batchSize, learningRate, betaStart, betaEnd, roundingWeight, warmup, dropProbability } = settings;
  const { learnActivationSteps, learnOutputStepsDownstream, learnWeightScales, learnBiases, rounding } =
    settings;
  const { binaryLearningRate, binaryIterationsFactor, annealStepRate, annealScaleRate } = settings;
  return {
    learned: { weights, biases, activations },
    training: {
      projection: ROUNDING_RELAXATIONS[rounding].label,
      steps: blocks.reduce((a, b) => a + b.steps, 0),
      batchSize,
      images: images.shape[0],
      learningRate,
      betaStart,
      betaEnd,
      objective: `per block: squared error to the FP32 block's output (sum over channels)${rounding === 'adaround' ? ` + ${roundingWeight} x AdaRound's rounding regularizer` : ''}; ${learnBiases ? 'biases learned; ' : ''}${settings.learnActivationSteps ? `activation steps learned (LSQ${learnOutputStepsDownstream ? ', each block output in the block that reads it' : ''})` : 'calibrated activation steps'}; QDrop p = ${settings.dropProbability}; synthetic images only`,
      settings: {
        stepsPerBlock: options.steps,
        roundingWeight,
        warmup,
        dropProbability,
        learnActivationSteps,
        learnOutputStepsDownstream,
        annealStepRate,
        annealScaleRate,
        learnWeightScales,
        learnBiases,
        rounding,
        binaryLearningRate,
        binaryIterationsFactor,
      },
      ...figures,
      blocks,
    },
  };
};

/**
 * The implementation of every weight quantizer the contract's WEIGHT_QUANTIZER_METHODS registers:
 * how it trains the weights, or null for one that only rounds to nearest.
 */
export const WEIGHT_QUANTIZERS: Record<WeightQuantizerName, WeightTrainer | null> = {
  rtn: null,
  pmf: meanField('softmax'),
  pgd: meanField('sparsemax'),
  recon: reconstruction,
};
