import type { DistillationProgress } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { requireWeightGradients } from '../backend/weight-gradients.js';
import { fusedExpectedLevels, relativeSquaredError } from '../model/fused-ops.js';
import type { ModelGraph, WeightedNode } from '../model/graph.js';
import { isWeighted, outputChannelIndexer } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { Adam } from '../util/adam.js';
import { seededRandom } from '../util/rng.js';
import { yieldToEventLoop } from '../util/yield.js';
import type { AffineParams } from './activation-quantizer.js';
import { fakeQuantizeLearnedStep, learnedGrids, logStepVariable } from './learned-step.js';
import type { QuantizedModel } from './quantize-model.js';
import { project, type SimplexProjection } from './simplex-projection.js';
import { fakeQuantizeSte } from './straight-through.js';
import { type ChannelQuantized, channelQuantized, weightLevels } from './weight-quantizer.js';

export interface MeanFieldOptions {
  /** softmax: proximal mean-field (PMF); sparsemax: projected gradient descent (PGD). */
  projection: SimplexProjection;
  steps: number;
  batchSize: number;
  /** Adam step for the level scores; scales and biases use a tenth of it. */
  learningRate: number;
  /** Inverse temperature of the projection, grown geometrically from start to end over the steps. */
  betaStart: number;
  betaEnd: number;
  /** Distillation temperature of the KL term between teacher and student logits. */
  temperature: number;
  /** Weight of the feature term: each weighted layer's output matched to the teacher's (relative MSE). */
  featureWeight: number;
  /** Learn each quantized activation's step size (LSQ) beside the weights, instead of keeping the calibrated one. */
  learnActivationSteps: boolean;
  seed: number;
  onProgress?: (p: DistillationProgress) => void;
}

export const DEFAULT_MEAN_FIELD: Omit<MeanFieldOptions, 'projection' | 'seed'> = {
  steps: 300,
  batchSize: 64,
  learningRate: 1e-2,
  betaStart: 1,
  betaEnd: 300,
  temperature: 4,
  // Measured on the example model, W4A4, 256 direct images, mse ranges, 200 steps (first 2,000
  // test images): logits-only distillation 90.3%, with the feature term 91.7% (RTN 91.15%);
  // scripts/pmf-ablation.mjs <run dir> 4 4 softmax 200 1e-2 300 4 2000 mse <0|1>.
  featureWeight: 1,
  // Off: on the example model (256 direct images, seed 0, full test split) learned steps measured
  // W4A4 90.86 vs 91.34% calibrated (mse ranges), 89.74 vs 89.98% (minmax ranges), W3A3 88.48 vs
  // 88.54%: ABLATION_QUANTIZERS=pmf node scripts/recon-ablation.mjs <images> 4 4 300 10000
  // '{"learnActivationSteps":true}' [8 minmax]. Over three image seeds: docs/benchmarks.md, Step 9.
  learnActivationSteps: false,
};

export interface MeanFieldResult {
  weights: Map<string, ChannelQuantized>;
  /** Biases after distillation (float; they become int32 at export). */
  biases: Map<string, Float32Array>;
  /** Activation grids with learned steps (empty unless learnActivationSteps). */
  activations: Map<string, AffineParams>;
  trainedLayers: string[];
  lossInitial: number;
  lossFinal: number;
  /** Share of weights whose final level differs from round-to-nearest's. */
  changedFromNearest: number;
  seconds: number;
}

/** One layer's trainable state: scores over levels per weight, log per-channel scale, bias. */
interface LayerState {
  node: WeightedNode;
  scores: tf.Variable;
  logScale: tf.Variable;
  bias: tf.Variable;
  levels: tf.Tensor1D;
  levelValues: number[];
  channels: number;
}

/**
 * A layer's scores over its grid levels, one row per weight: -(w/s - level)^2 makes the nearest level
 * the most likely and keeps the expected weight close to the pretrained one at the first (soft) step.
 */
export function levelScores(node: WeightedNode, init: ChannelQuantized): tf.Tensor2D {
  const { of } = outputChannelIndexer(node);
  const levelValues = weightLevels(init.bits, init.maxLevel);
  const n = node.kernel.data.length;
  const scores = new Float32Array(n * levelValues.length);
  for (let i = 0; i < n; i++) {
    const x = (node.kernel.data[i] as number) / (init.scales[of(i)] as number);
    levelValues.forEach((level, j) => {
      scores[i * levelValues.length + j] = -((x - level) ** 2);
    });
  }
  return tf.tensor2d(scores, [n, levelValues.length]);
}

/** Every weight's expected level under the projection of its scores at inverse temperature β. */
export function expectedLevels(
  scores: tf.Tensor2D,
  levels: tf.Tensor1D,
  beta: number,
  projection: SimplexProjection = 'softmax',
): tf.Tensor1D {
  return (
    (projection === 'softmax' ? fusedExpectedLevels(scores, levels, beta) : null) ??
    tf.sum(tf.mul(project(tf.mul(scores, beta) as tf.Tensor2D, projection), levels), 1)
  );
}

/** The most likely level of every weight (grid units). */
export async function likeliestLevels(scores: tf.Tensor2D, levelValues: number[]): Promise<Int32Array> {
  const argmax = tf.argMax(scores, 1);
  const picks = (await argmax.data()) as Int32Array;
  argmax.dispose();
  return Int32Array.from(picks, (j) => levelValues[j] as number);
}

function initialState(node: WeightedNode, init: ChannelQuantized): LayerState {
  const { channels } = outputChannelIndexer(node);
  // A variable shares its initial tensor's data; tidy releases the initial tensor's own handle.
  const variable = (make: () => tf.Tensor, name: string) => tf.tidy(() => tf.variable(make(), true, name));
  const levelValues = weightLevels(init.bits, init.maxLevel);
  return {
    node,
    scores: variable(() => levelScores(node, init), `${node.name}/scores`),
    logScale: variable(() => tf.tensor1d(init.scales.map(Math.log)), `${node.name}/log_scale`),
    bias: variable(
      () => (node.bias ? tf.tensor1d(node.bias.data) : tf.zeros([channels])),
      `${node.name}/bias`,
    ),
    levels: tf.tensor1d(levelValues),
    levelValues,
    channels,
  };
}

/** The layer's expected kernel under the current distributions, in the node's own shape. */
function expectedKernel(state: LayerState, beta: number, projection: SimplexProjection): tf.Tensor {
  return tf
    .mul(
      expectedLevels(state.scores as tf.Tensor2D, state.levels, beta, projection).reshape([
        -1,
        state.channels,
      ]),
      tf.exp(state.logScale),
    )
    .reshape(state.node.kernel.shape);
}

function distillationLoss(teacher: tf.Tensor, student: tf.Tensor, temperature: number): tf.Scalar {
  const t = tf.softmax(tf.div(teacher, temperature));
  const logS = tf.logSoftmax(tf.div(student, temperature));
  const logT = tf.log(tf.add(t, 1e-8));
  return tf.mul(tf.mean(tf.sum(tf.mul(t, tf.sub(logT, logS)), -1)), temperature ** 2) as tf.Scalar;
}

/**
 * Data-free mean-field weight quantization: every weight is a distribution over its grid levels,
 * trained by distilling the full-precision model on synthetic images while the projection's
 * inverse temperature grows until the distributions are one-hot; the argmax is the final weight.
 * Activations are fake-quantized with a straight-through estimator throughout, at their calibrated
 * step sizes or, with learnActivationSteps, at step sizes learned beside the weights (LSQ).
 */
export async function trainMeanField(
  folded: ModelGraph,
  init: QuantizedModel,
  images: tf.Tensor4D,
  options: MeanFieldOptions,
): Promise<MeanFieldResult> {
  requireWeightGradients([
    { option: 'quantizer', value: options.projection === 'softmax' ? 'pmf' : 'pgd', instead: 'rtn' },
  ]);
  const start = performance.now();
  const teacher = new GraphRunner(folded);
  const student = new GraphRunner(folded);
  // Layers kept in float have no quantized weights to train.
  const states = folded.nodes
    .filter(isWeighted)
    .filter((node) => init.weights.has(node.name))
    .map((node) => initialState(node, init.weights.get(node.name) as ChannelQuantized));
  const scoreOptimizer = new Adam({ learningRate: options.learningRate });
  const affineOptimizer = new Adam({ learningRate: options.learningRate / 10 });
  // LSQ: a log step per quantized activation, its zero point fixed where calibration put it.
  const steps = new Map(
    options.learnActivationSteps
      ? [...init.activations].map(([name, p]) => [name, logStepVariable(name, p)])
      : [],
  );
  const transform = (node: { name: string }, out: tf.Tensor) => {
    const p = init.activations.get(node.name);
    if (!p) return out;
    const logStep = steps.get(node.name);
    return logStep
      ? fakeQuantizeLearnedStep(out, logStep as tf.Scalar, p.zeroPoint, p.bits)
      : fakeQuantizeSte(out, p);
  };
  const layerNames = new Set(states.map((s) => s.node.name));
  const random = seededRandom(options.seed);
  const count = images.shape[0];
  const batch = Math.min(options.batchSize, count);
  const growth = (options.betaEnd / options.betaStart) ** (1 / Math.max(1, options.steps - 1));
  let beta = options.betaStart;
  let lossInitial = Number.NaN;
  let lossFinal = Number.NaN;

  try {
    for (let step = 0; step < options.steps; step++) {
      const indices = Array.from({ length: batch }, () => Math.floor(random() * count));
      const flip = random() < 0.5;
      const x = tf.tidy(() => {
        const picked = tf.gather(images, indices);
        return flip ? tf.reverse(picked, 2) : picked;
      });
      const target = tf.tidy(() => {
        const { output, taps: t } = teacher.run(x, options.featureWeight > 0 ? { taps: layerNames } : {});
        return [output, ...[...layerNames].map((n) => t.get(n) as tf.Tensor)];
      });
      const b = beta;
      const lossTensor = tf.tidy(() => {
        const kernels = new Map<string, tf.Tensor>();
        const biases = new Map<string, tf.Tensor>();
        const loss = () => {
          for (const s of states) {
            kernels.set(s.node.name, expectedKernel(s, b, options.projection));
            biases.set(s.node.name, s.bias);
          }
          const run = student.run(x, {
            transform,
            kernels,
            biases,
            ...(options.featureWeight > 0 ? { taps: layerNames } : {}),
          });
          let total = distillationLoss(target[0] as tf.Tensor, run.output, options.temperature);
          if (options.featureWeight > 0) {
            [...layerNames].forEach((name, k) => {
              const relative = relativeSquaredError(
                run.taps.get(name) as tf.Tensor,
                target[k + 1] as tf.Tensor,
              );
              total = tf.add(total, tf.mul(relative, options.featureWeight / layerNames.size));
            });
          }
          return total as tf.Scalar;
        };
        const { value, grads } = tf.variableGrads(loss);
        const named = (variable: tf.Variable) => ({ variable, grad: grads[variable.name] as tf.Tensor });
        scoreOptimizer.applyGradients(states.map((s) => named(s.scores)));
        affineOptimizer.applyGradients([
          ...states.flatMap((s) => [named(s.logScale), named(s.bias)]),
          ...[...steps.values()].map(named),
        ]);
        return value;
      });
      const loss = (await lossTensor.data())[0] as number;
      tf.dispose([x, ...target, lossTensor]);
      if (step === 0) lossInitial = loss;
      lossFinal = loss;
      const seconds = (performance.now() - start) / 1000;
      options.onProgress?.({
        step: step + 1,
        steps: options.steps,
        beta,
        loss,
        seconds,
        etaSeconds: (seconds / (step + 1)) * (options.steps - step - 1),
        block: null,
      });
      beta *= growth;
      await yieldToEventLoop();
    }
    return {
      ...(await hardWeights(states, init)),
      activations: await learnedGrids(steps, init.activations),
      lossInitial,
      lossFinal,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    teacher.dispose();
    student.dispose();
    scoreOptimizer.dispose();
    affineOptimizer.dispose();
    for (const s of states) tf.dispose([s.scores, s.logScale, s.bias, s.levels]);
    tf.dispose([...steps.values()]);
  }
}

/** The most likely level of every weight, with the learned scales and biases. */
async function hardWeights(
  states: LayerState[],
  init: QuantizedModel,
): Promise<Pick<MeanFieldResult, 'weights' | 'biases' | 'trainedLayers' | 'changedFromNearest'>> {
  const weights = new Map<string, ChannelQuantized>();
  const biases = new Map<string, Float32Array>();
  let changed = 0;
  let total = 0;
  for (const s of states) {
    const q = await likeliestLevels(s.scores as tf.Tensor2D, s.levelValues);
    const scales = Float32Array.from(await s.logScale.data(), Math.exp);
    const before = init.weights.get(s.node.name) as ChannelQuantized;
    const { of } = outputChannelIndexer(s.node);
    weights.set(s.node.name, channelQuantized(s.node.kernel, before.bits, q, scales, of, before.maxLevel));
    biases.set(s.node.name, (await s.bias.data()) as Float32Array);
    q.forEach((v, i) => {
      if (v !== before.q[i]) changed++;
    });
    total += q.length;
  }
  return {
    weights,
    biases,
    trainedLayers: states.map((s) => s.node.name),
    changedFromNearest: total ? changed / total : 0,
  };
}
