import type { SynthesisProgress } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { requireWeightGradients } from '../backend/weight-gradients.js';
import { normalizedPixelBounds } from '../data/normalize.js';
import type { ModelGraph } from '../model/graph.js';
import { inputNode, isWeighted } from '../model/graph.js';
import { type ChannelMoments, GraphRunner } from '../model/graph-runner.js';
import { tfSeed } from '../util/rng.js';
import { yieldToEventLoop } from '../util/yield.js';
import { bnTargets, disposeTargets } from './bn-statistics-loss.js';
import { Generator, type GeneratorWeights } from './generator.js';
import { balancedLabels, classCount } from './labels.js';
import { penultimateNode } from './quality.js';
import type { SynthesisResult } from './synthesis-result.js';

/**
 * Every default that shapes generator training. A cached generator must be keyed by these (the
 * synthesis stage spreads them into its cache key), so a change of the loss or its weights must
 * change this object: bump `recipe` when the code changes and the numbers do not.
 */
export const GENERATIVE_TRAINING = {
  recipe: 2,
  latent: 64,
  width: 64,
  bnWeight: 1,
  diversityWeight: 0.5,
  targetConfidence: 0.9,
  learningRateFloor: 0.1,
  flip: true,
} as const;

/**
 * Projector onto the feature directions the classifier ignores: I - QQᵀ, with Q an orthonormal
 * basis of the last layer's kernel columns (one per class), of the size of its fan-in. Null for a
 * depthwise last layer.
 */
export function classifierNullSpace(graph: ModelGraph): tf.Tensor2D | null {
  const last = [...graph.nodes].reverse().find(isWeighted);
  if (!last || last.op === 'depthwiseConv2d') return null;
  const outputs = last.kernel.shape[last.kernel.shape.length - 1] as number;
  const inputs = last.kernel.data.length / outputs;
  const basis: Float64Array[] = [];
  for (let o = 0; o < outputs; o++) {
    const v = Float64Array.from({ length: inputs }, (_, i) => last.kernel.data[i * outputs + o] as number);
    for (let pass = 0; pass < 2; pass++)
      for (const q of basis) {
        const dot = v.reduce((a, x, i) => a + x * (q[i] as number), 0);
        v.forEach((x, i) => {
          v[i] = x - dot * (q[i] as number);
        });
      }
    const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    if (norm > 1e-6) basis.push(v.map((x) => x / norm));
  }
  const projector = new Float32Array(inputs * inputs);
  for (let i = 0; i < inputs; i++)
    for (let j = 0; j < inputs; j++)
      projector[i * inputs + j] =
        (i === j ? 1 : 0) - basis.reduce((a, q) => a + (q[i] as number) * (q[j] as number), 0);
  return tf.tensor2d(projector, [inputs, inputs]);
}

/**
 * Cross-entropy toward each image's class, per image, hinged at -ln(targetConfidence): an image
 * the model already gives that confidence adds nothing, so the class term stops pulling every
 * image of a class toward the one most confident point.
 */
function classTerm(
  logits: tf.Tensor,
  labels: tf.Tensor1D,
  classes: number,
  targetConfidence: number,
): tf.Scalar {
  return tf.tidy(() => {
    const ce = tf.oneHot(labels, classes).toFloat().mul(tf.logSoftmax(logits)).sum(-1).neg();
    return (targetConfidence < 1 ? ce.sub(-Math.log(targetConfidence)).relu() : ce).mean() as tf.Scalar;
  });
}

/**
 * Mode-seeking diversity term: mean over pairs of images in one group of -log(cosine distance of
 * their penultimate features), the distance taken in the classifier's null space when `projector`
 * is given. MSGAN divides the image distance by the latents' distance; under the log that
 * denominator is a constant, so it is left out. The log makes near-duplicates cost the most.
 * Cosine distance is |u_i - u_j|²/2 for unit vectors u; projecting u_i - u_j keeps the part that
 * moves no logit, so spreading a class does not push its images across the class boundary.
 */
export function modeSeekingTerm(
  features: tf.Tensor,
  groups: number[],
  projector: tf.Tensor2D | null,
): tf.Scalar {
  return tf.tidy(() => {
    const n = features.shape[0] as number;
    const flat = features.reshape([n, -1]) as tf.Tensor2D;
    let unit = flat.div(flat.norm('euclidean', 1, true).add(1e-8)) as tf.Tensor2D;
    if (projector && projector.shape[0] === flat.shape[1]) unit = tf.matMul(unit, projector);
    const sq = unit.square().sum(1, true);
    const distance = sq
      .add(sq.transpose())
      .sub(tf.matMul(unit, unit, false, true).mul(2))
      .relu()
      .div(2);
    const pairs = tf.tensor2d(
      groups.flatMap((a, i) => groups.map((b, j) => (i !== j && a === b ? 1 : 0))),
      [n, n],
    );
    return distance.add(1e-4).log().neg().mul(pairs).sum().div(pairs.sum().maximum(1)) as tf.Scalar;
  });
}

export interface GenerativeOptions {
  images: number;
  /** Generator training steps (ignored when `generator` weights are given). */
  iterations: number;
  seed: number;
  batchSize?: number;
  learningRate?: number;
  /** Weight of the BatchNorm-statistics term against the class term. */
  bnWeight?: number;
  /**
   * Weight of the mode-seeking diversity term (see modeSeekingTerm) between images of the same
   * class. The class term alone collapses each class to nearly one image; so did the mean
   * cosine-similarity penalty this replaced, at weight 0.3 (measured: within-class diversity 0.024
   * against 0.082 for real images).
   */
  diversityWeight?: number;
  /** Confidence at which an image's cross-entropy stops pulling (1: plain cross-entropy). */
  targetConfidence?: number;
  /** The learning rate follows a cosine from its value down to this fraction of it at the last step. */
  learningRateFloor?: number;
  /** Randomly mirror half of each training batch, as the model's own training augmentation did. */
  flip?: boolean;
  latent?: number;
  width?: number;
  /** A generator trained earlier for this model and these settings: generate without training. */
  generator?: GeneratorWeights;
  onProgress?: (p: SynthesisProgress) => void;
}

export interface GenerativeResult extends SynthesisResult {
  generator: GeneratorWeights;
  trained: boolean;
}

/**
 * Generative synthesis (GDFQ/GZNQ-style): trains a class-conditional generator against the
 * frozen model so that (a) the model classifies G(z, y) as y and (b) the statistics G's batches
 * induce at every BatchNorm match the recorded running mean and variance, as distributions over
 * batches rather than for one fixed set of pixels. Then draws `images` balanced over classes.
 */
export async function synthesizeGenerative(
  graph: ModelGraph,
  options: GenerativeOptions,
): Promise<GenerativeResult> {
  if (!options.generator)
    requireWeightGradients([{ option: 'synth', value: 'generative', instead: 'direct' }]);
  const [height, width, channels] = inputNode(graph).shape as [number, number, number];
  const classes = classCount(graph);
  const latent = options.latent ?? GENERATIVE_TRAINING.latent;
  const batchSize = options.batchSize ?? 64;
  const { low, high } = normalizedPixelBounds(graph.normalization);
  const generator = new Generator(
    { latent, classes, height, width, channels, width1: options.width ?? GENERATIVE_TRAINING.width },
    options.seed,
    options.generator,
  );
  const runner = new GraphRunner(graph);
  const targets = bnTargets(graph);
  const targetVariance = targets.map((t) => tf.tidy(() => t.std.square()));
  const feature = penultimateNode(graph);
  const taps = new Set([feature]);
  const bnLayers = new Set(targets.map((t) => t.layer));
  const diversityWeight = options.diversityWeight ?? GENERATIVE_TRAINING.diversityWeight;
  const bnWeight = options.bnWeight ?? GENERATIVE_TRAINING.bnWeight;
  const targetConfidence = options.targetConfidence ?? GENERATIVE_TRAINING.targetConfidence;
  const flip = options.flip ?? GENERATIVE_TRAINING.flip;
  const learningRate = options.learningRate ?? 1e-3;
  const floor = options.learningRateFloor ?? GENERATIVE_TRAINING.learningRateFloor;
  const optimizer = tf.train.adam(learningRate, 0.5, 0.999);
  // Used only when the penultimate features are the flat vector the last layer reads.
  const projector = classifierNullSpace(graph);
  const trainable = [...generator.variables.values()];
  let lossInitial: number | null = null;
  let lossFinal: number | null = null;
  const steps = options.generator ? 0 : options.iterations;
  try {
    for (let step = 0; step < steps; step++) {
      // Cosine decay: late steps settle the generator instead of jumping around the trade-off
      // between the class and diversity terms (measured at 300 steps: diversity 0.044 -> 0.055,
      // target agreement 97% -> 99%).
      // Adam reads its rate at every step; tfjs only hides the field from TypeScript.
      (optimizer as unknown as { learningRate: number }).learningRate =
        learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * step) / steps)));
      const labelList = balancedLabels(batchSize, classes, step);
      const half = flip ? Math.floor(batchSize / 2) : 0;
      // Diversity pairs share class and mirroring: a mirrored copy must not count as a new image.
      const groups = labelList.map((l, i) => (i < half ? l : l + classes));
      const lossT = optimizer.minimize(
        () => {
          const z = tf.randomNormal(
            [batchSize, latent],
            0,
            1,
            'float32',
            tfSeed(options.seed * 100_003 + step),
          ) as tf.Tensor2D;
          const labels = tf.tensor1d(labelList, 'int32');
          let x: tf.Tensor = generator.generate(z, labels, low, high);
          if (half > 0) {
            x = tf.concat([
              x.slice([0, 0, 0, 0], [half, -1, -1, -1]),
              tf.reverse(x.slice([half, 0, 0, 0], [-1, -1, -1, -1]), 2),
            ]);
          }
          const { output, taps: seen, moments } = runner.run(x, { taps, moments: bnLayers });
          const ce = classTerm(output, labels, classes, targetConfidence);
          let bn: tf.Scalar = tf.scalar(0);
          targets.forEach((t, i) => {
            const { mean, variance } = moments.get(t.layer) as ChannelMoments;
            bn = bn.add(
              mean
                .sub(t.mean)
                .square()
                .mean()
                .add(
                  variance
                    .sub(targetVariance[i] as tf.Tensor)
                    .square()
                    .mean(),
                ),
            );
          });
          const diversity = modeSeekingTerm(seen.get(feature) as tf.Tensor, groups, projector);
          return ce.add(bn.mul(bnWeight / targets.length)).add(diversity.mul(diversityWeight)) as tf.Scalar;
        },
        true,
        trainable,
      ) as tf.Scalar;
      const loss = (await lossT.data())[0] as number;
      lossT.dispose();
      if (step === 0) lossInitial = loss;
      lossFinal = loss;
      options.onProgress?.({ iteration: step + 1, iterations: steps, batch: 1, batches: 1, loss });
      await yieldToEventLoop();
    }

    const labels = balancedLabels(options.images, classes);
    const parts: tf.Tensor4D[] = [];
    for (let start = 0; start < options.images; start += batchSize) {
      const n = Math.min(batchSize, options.images - start);
      parts.push(
        tf.tidy(() => {
          const z = tf.randomNormal(
            [n, latent],
            0,
            1,
            'float32',
            tfSeed(options.seed * 7919 + start),
          ) as tf.Tensor2D;
          // Statistics of the drawing batch feed the generator's BN, so draw in full batches.
          return generator.generate(z, tf.tensor1d(labels.slice(start, start + n), 'int32'), low, high);
        }),
      );
    }
    const images = tf.concat(parts) as tf.Tensor4D;
    tf.dispose(parts);
    return {
      method: 'generative',
      images,
      labels,
      iterations: steps,
      lossInitial,
      lossFinal,
      generator: generator.weights(),
      trained: steps > 0,
    };
  } finally {
    optimizer.dispose();
    generator.dispose();
    runner.dispose();
    disposeTargets(targets);
    tf.dispose(targetVariance);
    projector?.dispose();
  }
}
